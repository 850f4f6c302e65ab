import type { StorageProvider } from '../contract/storage-provider.js';
import type { Logger } from '../logging/logger.js';
import type { BackingRouter } from './backing-router.js';
import { callersOfEarlierBoots, withoutCallers } from './caller-holds.js';
import { mountsInPlace, type MountCounter } from './mount-counter.js';
import { holdCount, recordedHandle, type MountRecord } from './mount-record.js';
import type { MountTable } from './mount-table.js';
import type { VolumeCatalogue } from './volume-catalogue.js';

/**
 * Puts every volume of each `local`-scope backing the catalogue has not taken in yet into it (a state directory of
 * 0.1, a backing newly enabled): names missing from the catalogue are not asked of such a backing once it is
 * filled. One that cannot list stays unfilled, so lookups keep asking it, and the next start tries again.
 */
export async function fillCatalogue(router: BackingRouter, catalogue: VolumeCatalogue, logger: Logger): Promise<void> {
  const unfilled = router.all().filter((p) => p.scope === 'local' && !catalogue.isFilled(p.name));
  await Promise.all(
    unfilled.map(async (provider) => {
      try {
        const volumes = await provider.list();
        await catalogue.fill(
          provider.name,
          volumes.map((v) => v.name),
        );
        logger.info({ backing: provider.name, volumes: volumes.length }, 'volume catalogue filled from the backing');
      } catch (error) {
        logger.warn(
          { backing: provider.name, err: (error as Error).message },
          'could not fill the volume catalogue from the backing; lookups of unknown names ask it until a start can',
        );
      }
    }),
  );
}

/**
 * Finishes what a crash interrupted and restores what callers hold. A volume whose remount fails is recorded
 * `unavailable`, never answered as mounted: the next Mount asks the provider again and its failure reaches the
 * caller. Nothing is unmounted on such a failure, as a backend that could not answer now (a cloud API down) may
 * still have the volume mounted under running tasks. Then each provider releases what it holds for nobody.
 *
 * `boot` is this host's boot ID (undefined: unknown). The holds of a backing that mounts in place counted in an
 * earlier boot are released first: their callers died with that boot, and a power cut may have kept such a hold
 * that its caller had already given back (those records are written unsynced, see `MountCounter`).
 */
export async function restoreMounts(
  table: MountTable,
  router: BackingRouter,
  counter: MountCounter,
  logger: Logger,
  boot?: string,
): Promise<void> {
  const held = new Map<StorageProvider, Set<string>>();
  for (const [name, recorded] of table.entries()) {
    let record = recorded;
    const provider = router.byBacking(record.backing);
    if (!provider) {
      logger.error(
        { volume: name, backing: record.backing },
        'mount record names a backing that is not enabled; keeping it',
      );
      continue;
    }
    const ended = boot !== undefined && mountsInPlace(provider) ? callersOfEarlierBoots(record, boot) : [];
    if (ended.length > 0) {
      record = withoutCallers(record, ended);
      logger.info({ volume: name, callers: ended.length }, 'released the holds of callers an earlier boot ended');
    }
    if (holdCount(record) === 0) {
      try {
        await counter.finishRelease(name, provider, record);
        if (ended.length === 0)
          logger.info({ volume: name, state: record.state }, 'finished an operation interrupted by a restart');
      } catch (error) {
        logger.error({ volume: name, err: (error as Error).message }, 'could not release an interrupted mount');
      }
      continue;
    }
    held.set(provider, (held.get(provider) ?? new Set()).add(name));
    router.remember(name, provider);
    let restored: MountRecord;
    try {
      const result = await provider.mount(recordedHandle(name, record));
      const ref = counter.recordableRef(provider, name, result.ref) ?? record.ref;
      restored = { ...record, state: 'mounted', mountpoint: result.path, ref };
    } catch (error) {
      logger.error(
        { volume: name, holds: holdCount(record), err: (error as Error).message },
        'a volume callers hold could not be mounted again; it is not answered as mounted until a Mount succeeds',
      );
      restored = { backing: record.backing, state: 'unavailable', callers: record.callers, ref: record.ref };
    }
    if (
      record !== recorded ||
      restored.state !== record.state ||
      restored.mountpoint !== record.mountpoint ||
      restored.ref !== record.ref
    )
      await table.set(name, restored);
  }
  for (const provider of router.all()) {
    try {
      await provider.reconcile?.(held.get(provider) ?? new Set());
    } catch (error) {
      logger.error({ backing: provider.name, err: (error as Error).message }, 'backing reconciliation failed');
    }
  }
}
