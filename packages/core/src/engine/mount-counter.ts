import type { StorageProvider, VolumeHandle } from '../contract/storage-provider.js';
import { StowageError } from '../errors/stowage-error.js';
import type { VolumeEventSink } from '../events/volume-event-sink.js';
import type { Logger } from '../logging/logger.js';
import type { BackingRouter, Located } from './backing-router.js';
import { withConfirmed, withMount, withoutCallers, withWithdrawn, withUnmount } from './caller-holds.js';
import { engineFailpoint } from './engine-failpoints.js';
import type { KeyedMutex } from './keyed-mutex.js';
import {
  holdCount,
  NO_CALLERS,
  recordedHandle,
  volumeRefProblem,
  type CallerHold,
  type MountRecord,
  type MountState,
} from './mount-record.js';
import type { MountTable } from './mount-table.js';
import { CONTROL_CHARACTERS } from './option-parser.js';

/** How {@link MountCounter.mount} counts a Mount. */
export interface EngineMountOptions {
  /**
   * The Mount is counted but stays provisional until {@link MountCounter.confirm} or {@link MountCounter.withdraw}:
   * for a caller that learns of the Mount only from the answer, and never matches one it did not get with an
   * Unmount. Without it (an embedder calling in process) every Mount counts and is final.
   */
  readonly provisional?: boolean;
  /**
   * Asked, under the volume's lock, only when the caller already holds provisional Mounts of the volume: whether this
   * Mount is one of them sent again (a caller that retries until it gets an answer) rather than a new one. `true`: a
   * mounted volume is answered without counting it twice; one that is not is mounted, and the earlier Mount is
   * replaced by this one, so a retry that fails is not counted at all. Anything else, a throw too, counts a new
   * Mount: one counted twice only keeps a volume held longer, while one not counted would let the caller's next
   * Unmount release the volume under it.
   */
  readonly isRetry?: (hold: CallerHold) => Promise<boolean>;
}

/** One caller's holds on a volume, as {@link MountCounter.holds} reports them. */
export interface CallerHoldSummary extends CallerHold {
  readonly id: string;
}

/** A volume this node holds for callers. */
export interface HeldVolume {
  readonly name: string;
  readonly backing: string;
  readonly state: MountState;
  readonly callers: readonly CallerHoldSummary[];
}

const MAX_CALLER_ID_LENGTH = 256;

/**
 * Mount counting: the backend mounts a volume for its first caller and releases it after the last one left; every
 * step is in the mount table before it is answered, and written ahead of any backend call that a crash could leave
 * half done (all but those of a backing that mounts in place), so a restart knows what callers hold and finishes what
 * a crash interrupted. Every method that changes a volume runs under its name's lock.
 */
export class MountCounter {
  constructor(
    private readonly table: MountTable,
    private readonly router: BackingRouter,
    private readonly locks: KeyedMutex,
    private readonly logger: Logger,
    private readonly events: VolumeEventSink,
    /** This host's boot ID, stamped on every hold counted; undefined when it could not be read. */
    private readonly boot?: string,
  ) {}

  /** See {@link VolumeEngine.mount}. */
  mount(name: string, callerId: string, options: EngineMountOptions = {}): Promise<string> {
    validateCallerId(callerId);
    const provisional = options.provisional === true;
    return this.locks.run(name, async () => {
      engineFailpoint('mount:before-table-write');
      const record = this.table.get(name);
      const retry = await this.isRetry(name, callerId, record, options.isRetry);
      if (record?.state === 'mounted' && record.mountpoint) {
        if (retry) {
          this.logger.info({ volume: name, caller: callerId }, 'Mount sent again: answered, not counted twice');
          return record.mountpoint;
        }
        const counted = withMount(record, callerId, { provisional, now: Date.now(), boot: this.boot });
        await this.table.set(name, counted, this.writeOptions(record.backing));
        engineFailpoint('mount:after-commit');
        this.logger.debug({ volume: name, caller: callerId, holds: holdCount(counted) }, 'mount counted');
        return record.mountpoint;
      }
      // Not mounted here, or not known to be (a remount at start-up failed): only the provider can tell. A retried
      // Mount replaces the one counted before: counted afresh if it succeeds, and not at all if it fails, as the caller
      // then takes it as failed and never unmounts it.
      const callers =
        retry && record ? (withWithdrawn(record, callerId) as MountRecord).callers : (record?.callers ?? NO_CALLERS);
      let found: Located | undefined;
      try {
        found = await this.router.locate(name, { exclusive: true });
        if (!found) throw StowageError.notFound(`volume "${name}" not found`);
      } catch (error) {
        if (retry && record) {
          await this.table
            .set(name, { ...record, callers })
            .catch((writeError: unknown) =>
              this.logger.warn(
                { volume: name, caller: callerId, err: (writeError as Error).message },
                'could not take back a failed Mount sent again',
              ),
            );
        }
        throw error;
      }
      const { provider } = found;
      const handle = this.lookedUp(name, found);
      if (!mountsInPlace(provider)) {
        // Written before the backend is touched: a crash from here on is undone at the next start.
        await this.table.set(name, { backing: provider.name, state: 'mounting', callers, ref: handle.ref });
        engineFailpoint('mount:after-intent');
      }
      let path: string;
      let ref = handle.ref;
      try {
        const result = await provider.mount(handle);
        path = result.path;
        ref = this.recordableRef(provider, name, result.ref) ?? ref;
      } catch (error) {
        await this.abandonMount(handle, provider, callers);
        throw StowageError.wrap(error, `mounting volume "${name}" (backing ${provider.name}) failed`);
      }
      engineFailpoint('mount:after-provider');
      const mounted: MountRecord = { backing: provider.name, state: 'mounted', mountpoint: path, callers, ref };
      const counted = withMount(mounted, callerId, { provisional, now: Date.now(), boot: this.boot });
      try {
        await this.table.set(name, counted, this.writeOptions(provider.name));
      } catch (error) {
        // Not durable, so not made: the caller gets an error, and must not be left with a mount nobody counts.
        await this.abandonMount({ name, ref }, provider, callers);
        throw error;
      }
      engineFailpoint('mount:after-commit');
      this.logger.info({ volume: name, backing: provider.name, caller: callerId, mountpoint: path }, 'volume mounted');
      this.events.emit({
        type: 'volume.mounted',
        volume: name,
        backing: provider.name,
        mountpoint: path,
        caller: callerId,
        callers: counted.callers.size,
        holds: holdCount(counted),
      });
      return path;
    });
  }

  /** See {@link VolumeEngine.unmount}. */
  async unmount(name: string, callerId: string): Promise<void> {
    validateCallerId(callerId);
    await this.locks.run(name, async () => {
      const record = this.table.get(name);
      const remaining = record && withUnmount(record, callerId);
      if (!record || !remaining) {
        throw StowageError.notFound(`volume "${name}" has no mount with ID "${callerId}" on this node`);
      }
      engineFailpoint('unmount:before-table-write');
      await this.commitHolds(name, remaining);
      this.logger.debug({ volume: name, caller: callerId, holds: holdCount(remaining) }, 'unmount counted');
    });
  }

  /** See {@link VolumeEngine.confirmMount}. */
  async confirm(name: string, callerId: string): Promise<void> {
    await this.locks.run(name, async () => {
      const record = this.table.get(name);
      const hold = record?.callers.get(callerId);
      if (!record || !hold || hold.pending === 0) return;
      engineFailpoint('mount:before-answered-record');
      // Not synced on its own: lost to a power cut, the Mount only stays provisional, which costs nothing but a hold
      // kept until the adapter proves the caller gone; the next synced write or compaction makes it durable.
      await this.table.set(name, withConfirmed(record, callerId), { sync: false });
    });
  }

  /** See {@link VolumeEngine.withdrawMount}. */
  async withdraw(name: string, callerId: string): Promise<void> {
    await this.locks.run(name, async () => {
      const record = this.table.get(name);
      const remaining = record && withWithdrawn(record, callerId);
      if (!record || !remaining) return;
      this.logger.warn({ volume: name, caller: callerId }, 'a provisional Mount was withdrawn');
      await this.commitHolds(name, remaining);
    });
  }

  /** Every volume this node holds for callers, with each caller's holds. */
  holds(): HeldVolume[] {
    return this.table
      .entries()
      .filter(([, record]) => record.callers.size > 0)
      .map(([name, record]) => ({
        name,
        backing: record.backing,
        state: record.state,
        callers: [...record.callers].map(([id, hold]) => ({ id, ...hold })),
      }));
  }

  /** See {@link VolumeEngine.releaseHolds}. */
  async releaseHolds(name: string, callerIds: Iterable<string>, countedBefore: number): Promise<number> {
    const wanted = new Set(callerIds);
    return this.locks.run(name, async () => {
      const record = this.table.get(name);
      if (!record) return 0;
      const gone = [...record.callers].filter(([id, hold]) => wanted.has(id) && hold.lastMountAt < countedBefore);
      if (gone.length === 0) return 0;
      const dropped = gone.reduce((sum, [, hold]) => sum + hold.count, 0);
      await this.commitHolds(
        name,
        withoutCallers(
          record,
          gone.map(([id]) => id),
        ),
      );
      this.logger.warn(
        { volume: name, callers: gone.map(([id]) => id), mounts: dropped },
        'released holds of callers that are gone',
      );
      return dropped;
    });
  }

  /**
   * Releases a volume whose last caller left (or that a crash left half mounted) and forgets its record. The caller
   * holds the name's lock. `unrecorded`: the release was not recorded as under way before the call (a backing that
   * mounts in place); it is recorded if the backend fails, so that the next Mount or start finishes it. `sync: false`:
   * the record is forgotten without waiting for a sync (see {@link writeOptions}).
   */
  async finishRelease(
    name: string,
    provider: StorageProvider,
    record: MountRecord,
    options: { unrecorded?: MountRecord; sync?: boolean } = {},
  ): Promise<void> {
    const { unrecorded } = options;
    try {
      await provider.unmount(recordedHandle(name, record));
    } catch (error) {
      if (unrecorded) {
        await this.table
          .set(name, unrecorded)
          .catch((writeError: unknown) =>
            this.logger.warn(
              { volume: name, err: (writeError as Error).message },
              'could not record a failed release; the caller still holds the volume',
            ),
          );
      }
      // The record says unmounting, with no callers (unless even that could not be written, as logged above): the
      // next mount or the next start finishes the job.
      throw StowageError.wrap(error, `releasing volume "${name}" (backing ${provider.name}) failed`);
    }
    engineFailpoint('unmount:after-provider');
    await this.table.delete(name, { sync: options.sync !== false });
  }

  /** Records `record`'s holds; with none left, releases the backend and forgets the volume. Runs under the name's lock. */
  private async commitHolds(name: string, record: MountRecord): Promise<void> {
    if (holdCount(record) > 0) {
      await this.table.set(name, record, this.writeOptions(record.backing));
      engineFailpoint('unmount:after-commit');
      return;
    }
    const provider = this.providerFor(record);
    const releasing: MountRecord = { ...record, state: 'unmounting' };
    if (mountsInPlace(provider)) {
      // Nothing for a crash to leave half released: the release is recorded once, when done.
      await this.finishRelease(name, provider, record, { unrecorded: releasing, ...this.writeOptions(provider.name) });
    } else {
      await this.table.set(name, releasing);
      engineFailpoint('unmount:after-intent');
      await this.finishRelease(name, provider, record);
    }
    engineFailpoint('unmount:after-commit');
    this.logger.info({ volume: name, backing: record.backing }, 'volume unmounted');
    this.events.emit({ type: 'volume.unmounted', volume: name, backing: record.backing });
  }

  /**
   * Undoes a Mount that failed after the intent was recorded: the provider releases what it made, and the record
   * goes back to what the callers held before (none: no record; some: `unavailable`, as nothing vouches for a mount).
   * A failure here leaves the `mounting` record, which the next Mount or start-up finishes.
   */
  private async abandonMount(
    { name, ref }: VolumeHandle,
    provider: StorageProvider,
    callers: ReadonlyMap<string, CallerHold>,
  ): Promise<void> {
    try {
      await provider.unmount(ref === undefined ? { name } : { name, ref });
      if (callers.size > 0) await this.table.set(name, { backing: provider.name, state: 'unavailable', callers, ref });
      else await this.table.delete(name);
    } catch (error) {
      this.logger.warn(
        { volume: name, err: (error as Error).message },
        'cleanup after a failed mount failed; will retry at the next mount or start',
      );
    }
  }

  /** Whether this Mount is a provisional one of the same caller sent again, as the adapter's hook says. */
  private async isRetry(
    name: string,
    callerId: string,
    record: MountRecord | undefined,
    isRetry: EngineMountOptions['isRetry'],
  ): Promise<boolean> {
    const hold = record?.callers.get(callerId);
    if (!hold || hold.pending === 0 || !isRetry) return false;
    try {
      return (await isRetry(hold)) === true;
    } catch (error) {
      this.logger.warn(
        { volume: name, caller: callerId, err: (error as Error).message },
        'could not tell whether a Mount was sent again; counting it',
      );
      return false;
    }
  }

  /** What a provider gets for a volume the engine has just looked up: the answer, and its ref if it may be recorded. */
  lookedUp(name: string, { provider, volume }: Located): VolumeHandle {
    const ref = this.recordableRef(provider, name, volume.ref);
    return ref === undefined ? { name, volume } : { name, ref, volume };
  }

  /** `ref` when it may be recorded; a bad one is logged and dropped, and the provider then finds the volume by name. */
  recordableRef(provider: StorageProvider, name: string, ref: string | undefined): string | undefined {
    if (ref === undefined) return undefined;
    const problem = volumeRefProblem(ref);
    if (problem === undefined) return ref;
    this.logger.warn(
      { volume: name, backing: provider.name, problem },
      'the backing answered a ref that is not recorded',
    );
    return undefined;
  }

  /**
   * How a change of holds of a volume of `backing` is written. Unsynced when the backing mounts in place (a power cut
   * leaves it nothing half done) and the boot is known: a power cut may then take back the last changes (a Mount
   * counted, a release), but every hold they touched carries this boot, and the start in the next boot releases it
   * ({@link callersOfEarlierBoots}): no caller outlives its boot. Otherwise synced: a release taken back would count
   * again a hold its caller gave up (the model test's host reboot found it).
   */
  private writeOptions(backing: string): { sync: boolean } {
    const provider = this.router.byBacking(backing);
    return { sync: this.boot === undefined || provider === undefined || !mountsInPlace(provider) };
  }

  private providerFor(record: MountRecord): StorageProvider {
    const provider = this.router.byBacking(record.backing);
    if (!provider) {
      throw StowageError.backendFailure(
        `backing ${record.backing} is not enabled on this node; enable it to release its volumes`,
      );
    }
    return provider;
  }
}

/**
 * Whether `provider` declares that its mounts leave nothing behind, so that no intent need be recorded first, and its
 * records need no sync when the boot is known (see `MountCounter.writeOptions`).
 */
export function mountsInPlace(provider: StorageProvider): boolean {
  return provider.capabilities?.mountsInPlace === true;
}

function validateCallerId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || id.length === 0) throw StowageError.invalidArgument('mount ID is required');
  if (id.length > MAX_CALLER_ID_LENGTH || CONTROL_CHARACTERS.test(id)) {
    throw StowageError.invalidArgument(`invalid mount ID: at most ${MAX_CALLER_ID_LENGTH} printable characters`);
  }
}
