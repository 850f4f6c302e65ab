import 'reflect-metadata';
import { inject, injectable, multiInject, type ServiceIdentifier } from 'inversify';
import type { ProviderVolume, StorageProvider, VolumeHandle, VolumeScope } from '../contract/storage-provider.js';
import { StowageError } from '../errors/stowage-error.js';
import type { HostOperations } from '../host/host-operations.js';
import type { Logger } from '../logging/logger.js';
import { HOST_OPERATIONS, LOGGER, STORAGE_PROVIDER } from '../tokens.js';
import { BackingRouter, type Located } from './backing-router.js';
import { VolumeCatalogue } from './volume-catalogue.js';
import { engineFailpoint } from './engine-failpoints.js';
import { KeyedMutex } from './keyed-mutex.js';
import { withAnswered, withMount, withoutCallers, withUndelivered, withUnmount } from './caller-holds.js';
import {
  holdCount,
  NO_CALLERS,
  recordedHandle,
  volumeRefProblem,
  type CallerHold,
  type MountRecord,
  type MountState,
} from './mount-record.js';
import { MountTable } from './mount-table.js';
import { formatOptionValues, parseOptions } from './option-parser.js';
import { StateDirLock } from './state-dir-lock.js';
import type { BackingSummary, Volume } from './volume.js';
import { validateVolumeName } from './volume-name.js';

/** The engine's own settings. */
export interface EngineSettings {
  /** Holds this node's mount table and the engine lock; created 0700 if missing. */
  readonly stateDir: string;
  /** The backing for creates that name none; by default shared, then relocatable, then local. */
  readonly defaultBacking?: string;
  /**
   * How long one backing may take to answer a lookup before the lookup fails with BackendFailure naming it (10 s by
   * default). Only lookups of names that backing may hold wait for it.
   */
  readonly lookupTimeoutMs?: number;
}

export const ENGINE_SETTINGS: ServiceIdentifier<EngineSettings> = Symbol.for('stowage.EngineSettings');

/** How {@link VolumeEngine.start} starts. */
export interface EngineStartOptions {
  /**
   * `true` (the default): the engine serves mounts, so it restores this node's mounts at start-up (finishes what a
   * crash interrupted, remounts what callers hold, lets each provider release what nobody holds). `false`: a
   * catalogue only (create, get, list, remove), for a one-shot command beside a plugin that may be running: it
   * never mounts, unmounts, attaches or detaches anything, and reads the mount table without writing it.
   */
  readonly restore?: boolean;
}

/** How {@link VolumeEngine.mount} counts a Mount. */
export interface EngineMountOptions {
  /**
   * The caller learns of the Mount only from the answer, and resends a Mount it got no answer to (the Docker engine
   * does): the Mount stays pending until {@link VolumeEngine.mountAnswered} or {@link VolumeEngine.mountUndelivered},
   * and one the previous process counted but never answered is not counted twice when it comes again. Without it
   * (an embedder calling in process) every Mount counts and is final.
   */
  readonly awaitsAnswer?: boolean;
  /**
   * Asked only about a Mount that may be one the previous process counted and died before answering, sent again
   * (same volume, same caller, still pending, within a minute of the start): whether it is. `true` answers it
   * without counting it again. Anything else counts it as a new Mount, as without this option: a Mount counted
   * twice only keeps a volume held longer (until the caller's holds are released), while one not counted would
   * let the caller's next Unmount release the volume under it. The Docker adapter confirms a resend only when the
   * Docker engine runs no container with the volume (a container waiting for its Mount does not run yet).
   */
  readonly confirmResend?: () => Promise<boolean>;
}

/** One caller's holds on a volume, as {@link VolumeEngine.holds} reports them. */
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

/** The create option the engine consumes itself to route a volume to a backing. */
const BACKING_OPTION = 'backing';
/**
 * How long after a start a Mount left unanswered by the previous process counts as that Mount sent again: the Docker
 * engine's plugin client resends a request whose connection failed, with backoff, for 30 s.
 */
const RESENT_MOUNT_WINDOW_MS = 60_000;
const MAX_CALLER_ID_LENGTH = 256;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

/**
 * The volume engine: what every adapter calls, serving any number of providers at once. It validates names and
 * options, routes each volume to its backing, serialises operations per volume name, counts Mount calls per
 * caller, and keeps this node's mount table on disk so that a restart knows what is mounted for whom.
 */
@injectable()
export class VolumeEngine {
  private readonly router: BackingRouter;
  private readonly locks = new KeyedMutex();
  /** Per `<volume>\0<caller>`: Mounts the previous process counted and died before answering, not yet sent again. */
  private unansweredAtStart = new Map<string, number>();
  private resentWindow: NodeJS.Timeout | undefined;
  private readonly table: MountTable;
  private readonly catalogue: VolumeCatalogue;
  private readonly stateLock: StateDirLock;
  private started = false;
  /** False for a catalogue-only engine: see {@link EngineStartOptions.restore}. */
  // Stryker disable next-line BooleanLiteral: read only once start() has set it; before that, started is false.
  private servesMounts = true;
  /** The Volume last made of each provider answer, and the mount record it was made with. */
  private readonly reported = new WeakMap<ProviderVolume, { record: MountRecord | undefined; volume: Volume }>();

  constructor(
    @multiInject(STORAGE_PROVIDER) providers: StorageProvider[],
    @inject(HOST_OPERATIONS) readonly host: HostOperations,
    @inject(LOGGER) private readonly logger: Logger,
    @inject(ENGINE_SETTINGS) private readonly settings: EngineSettings,
  ) {
    this.catalogue = new VolumeCatalogue(settings.stateDir, logger);
    this.router = new BackingRouter(providers, settings.defaultBacking, {
      catalogue: this.catalogue,
      ...(settings.lookupTimeoutMs !== undefined ? { lookupTimeoutMs: settings.lookupTimeoutMs } : {}),
      onCatalogueError: (error) =>
        this.logger.warn(
          { err: (error as Error).message },
          'could not write the volume catalogue; lookups ask the backings meanwhile',
        ),
    });
    this.table = new MountTable(settings.stateDir);
    this.stateLock = new StateDirLock(settings.stateDir);
  }

  /**
   * Takes the state directory, starts every provider, loads the mount table and reconciles it: operations a crash
   * interrupted are finished, volumes callers still hold are checked (and remounted if the host lost them), and
   * each provider releases what it holds for nobody.
   */
  async start(options: EngineStartOptions = {}): Promise<void> {
    if (this.started) return;
    const restore = options.restore !== false;
    await this.stateLock.acquire();
    try {
      await Promise.all(
        this.router.all().map(async (provider) => {
          try {
            await provider.init?.();
          } catch (error) {
            throw StowageError.wrap(error, `backing ${provider.name} could not start`);
          }
        }),
      );
      await this.catalogue.load();
      await this.fillCatalogue();
      if (restore) {
        await this.table.load();
        await this.restoreMounts();
        this.rememberUnanswered();
      } else {
        await this.table.loadReadOnly();
      }
      this.servesMounts = restore;
      this.started = true;
      this.logger.info(
        {
          stateDir: this.settings.stateDir,
          backings: this.router.summaries().map((b) => b.name),
          servesMounts: restore,
        },
        'volume engine started',
      );
    } catch (error) {
      await this.table.close().catch(() => undefined);
      await this.catalogue.close().catch(() => undefined);
      await this.stateLock.releaseLock();
      throw error;
    }
  }

  /** Stops providers and releases the state directory. Mounts stay: they are recorded and callers still hold them. */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    clearTimeout(this.resentWindow);
    this.unansweredAtStart.clear();
    await Promise.allSettled(this.router.all().map((p) => p.close?.()));
    await this.table
      .close()
      .catch((error: unknown) =>
        this.logger.error(
          { err: (error as Error).message },
          'could not fold the mount journal into its snapshot; the next start replays it',
        ),
      );
    await this.catalogue
      .close()
      .catch((error: unknown) =>
        this.logger.error(
          { err: (error as Error).message },
          'could not fold the catalogue journal into its snapshot; the next start replays it',
        ),
      );
    await this.stateLock.releaseLock();
    this.logger.info({}, 'volume engine stopped');
  }

  /** The scope Docker is told: `global` only when every backing is global. */
  scope(): VolumeScope {
    return this.router.all().every((p) => p.scope === 'global') ? 'global' : 'local';
  }

  backings(): BackingSummary[] {
    return this.router.summaries();
  }

  /**
   * Creates a volume, or returns the existing one when it was created with the same backing and options.
   * `options` may hold `backing` (a backing name or alias); the rest is validated against that provider.
   */
  async create(name: string, options: Readonly<Record<string, unknown>> = {}): Promise<Volume> {
    this.assertStarted();
    validateVolumeName(name);
    const { [BACKING_OPTION]: backing, ...rest } = options;
    if (backing !== undefined && typeof backing !== 'string') {
      throw StowageError.invalidArgument('backing: must be a string');
    }
    const provider = this.router.select(backing);
    const subject = `backing=${backing || provider.name}`;
    const parsed = parseOptions(provider.options, rest, subject);
    const request = { name, options: parsed };
    provider.validate?.(request);

    return this.locks.run(name, async () => {
      const existing = await this.router.locate(name, { exclusive: true });
      if (existing) return this.acceptExisting(existing, provider, formatOptionValues(parsed));
      // Recorded before the backend makes it: after a crash in between, the entry names a backing without the volume,
      // which costs a lookup one question; the other way round, a volume of a local backing would be lost to lookups.
      try {
        await this.catalogue.set(name, provider.name);
      } catch (error) {
        throw StowageError.wrap(error, `creating volume "${name}" on backing ${provider.name} failed`);
      }
      let created: ProviderVolume;
      engineFailpoint('create:before-provider');
      try {
        created = await provider.create(request);
      } catch (error) {
        throw StowageError.wrap(error, `creating volume "${name}" on backing ${provider.name} failed`);
      }
      engineFailpoint('create:after-provider');
      this.logger.info({ volume: name, backing: provider.name, options: created.options }, 'volume created');
      return this.toVolume(provider, created);
    });
  }

  /** Deletes a volume and its data. Refused while this node has it mounted. */
  async remove(name: string): Promise<void> {
    this.assertStarted();
    validateVolumeName(name);
    await this.locks.run(name, async () => {
      const record = this.table.get(name);
      const held = holdCount(record);
      if (held > 0) {
        throw StowageError.inUse(
          `volume "${name}" is in use on this node (${held} mount${held === 1 ? '' : 's'}); ` +
            'stop the containers using it, then remove it',
        );
      }
      const found = await this.router.locate(name, { exclusive: true });
      if (!found) throw StowageError.notFound(`volume "${name}" not found`);
      if (record && !this.servesMounts) {
        throw StowageError.inUse(
          `volume "${name}" has a release under way on this node; start the plugin to finish it, then remove it`,
        );
      }
      if (record) await this.finishRelease(name, found.provider, record);
      engineFailpoint('remove:before-provider');
      try {
        // After a release the lookup's answer is out of date (an attachment it shows is gone): the name and ref only.
        await found.provider.remove(record ? recordedHandle(name, record) : this.lookedUp(name, found));
      } catch (error) {
        throw StowageError.wrap(error, `removing volume "${name}" from backing ${found.provider.name} failed`);
      }
      engineFailpoint('remove:after-provider');
      // Forgotten only once the backend removed it: a crash in between leaves an entry the next lookup drops.
      await this.router.forget(name);
      this.logger.info({ volume: name, backing: found.provider.name }, 'volume removed');
    });
  }

  /**
   * The volume, or undefined when no backing has it. When a backend cannot be asked, a volume this node knows is
   * still answered (Docker forgets any volume a Get fails for); an unknown one throws BackendFailure.
   */
  async get(name: string): Promise<Volume | undefined> {
    this.assertStarted();
    validateVolumeName(name);
    try {
      const found = await this.router.locate(name);
      return found && this.toVolume(found.provider, found.volume);
    } catch (error) {
      const known = this.knownVolume(name, error);
      if (known) return known;
      throw error;
    }
  }

  /** Every volume of every backing. Fails, naming the backing, when one cannot list. */
  async list(): Promise<Volume[]> {
    this.assertStarted();
    const perProvider = await Promise.all(
      this.router.all().map(async (provider) => {
        let volumes: ProviderVolume[];
        try {
          volumes = await provider.list();
        } catch (error) {
          throw StowageError.wrap(error, `listing volumes of backing ${provider.name} failed`);
        }
        this.router.listed(provider, volumes);
        return volumes.map((v) => this.toVolume(provider, v));
      }),
    );
    return perProvider.length === 1 ? (perProvider[0] as Volume[]) : perProvider.flat();
  }

  /**
   * Makes the volume usable for `callerId` and returns its path. The backend mounts only for the first caller;
   * every call is counted, a repeated ID too, and must be matched by an {@link unmount}. See
   * {@link EngineMountOptions.awaitsAnswer} for callers that learn of the Mount only from the answer.
   */
  async mount(name: string, callerId: string, options: EngineMountOptions = {}): Promise<string> {
    const pending = options.awaitsAnswer === true;
    this.assertServesMounts();
    validateVolumeName(name);
    validateCallerId(callerId);
    return this.locks.run(name, async () => {
      engineFailpoint('mount:before-table-write');
      const record = this.table.get(name);
      const resent = await this.takeResentMount(name, callerId, record, options.confirmResend);
      if (record?.state === 'mounted' && record.mountpoint) {
        if (resent) {
          this.logger.info(
            { volume: name, caller: callerId },
            'Mount sent again after a restart: answered, not counted twice',
          );
          return record.mountpoint;
        }
        const counted = withMount(record, callerId, { pending, now: Date.now() });
        await this.table.set(name, counted);
        engineFailpoint('mount:after-commit');
        this.logger.debug({ volume: name, caller: callerId, holds: holdCount(counted) }, 'mount counted');
        return record.mountpoint;
      }
      // Not mounted here, or not known to be (a remount at start-up failed): only the provider can tell. A Mount sent
      // again after a restart is the one the previous process counted: it is counted afresh if it succeeds, and not at
      // all if it fails, as the caller then takes it as failed and never unmounts it.
      const callers =
        resent && record ? (withUndelivered(record, callerId) as MountRecord).callers : (record?.callers ?? NO_CALLERS);
      let found: Located | undefined;
      try {
        found = await this.router.locate(name, { exclusive: true });
        if (!found) throw StowageError.notFound(`volume "${name}" not found`);
      } catch (error) {
        if (resent && record) {
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
      // Written before the backend is touched: a crash from here on is undone at the next start.
      await this.table.set(name, { backing: provider.name, state: 'mounting', callers, ref: handle.ref });
      engineFailpoint('mount:after-intent');
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
      try {
        await this.table.set(name, withMount(mounted, callerId, { pending, now: Date.now() }));
      } catch (error) {
        // Not durable, so not made: the caller gets an error, and must not be left with a mount nobody counts.
        await this.abandonMount({ name, ref }, provider, callers);
        throw error;
      }
      engineFailpoint('mount:after-commit');
      this.logger.info({ volume: name, backing: provider.name, caller: callerId, mountpoint: path }, 'volume mounted');
      return path;
    });
  }

  /** Matches one earlier {@link mount} by `callerId`; the backend releases the volume when none is left. */
  async unmount(name: string, callerId: string): Promise<void> {
    this.assertServesMounts();
    validateVolumeName(name);
    validateCallerId(callerId);
    await this.locks.run(name, async () => {
      const record = this.table.get(name);
      const remaining = record && withUnmount(record, callerId);
      if (!record || !remaining) {
        throw StowageError.notFound(`volume "${name}" has no mount with ID "${callerId}" on this node`);
      }
      engineFailpoint('unmount:before-table-write');
      this.unansweredAtStart.delete(holdKey(name, callerId));
      await this.commitHolds(name, remaining);
      this.logger.debug({ volume: name, caller: callerId, holds: holdCount(remaining) }, 'unmount counted');
    });
  }

  /**
   * The answer to a pending Mount of `name` by `callerId` has been handed to the caller's connection: the Mount is
   * final. Written off the answer's path; if this is lost (a crash just after the answer left), the Mount stays
   * pending, which only matters if the caller gives it up, and holds of callers that are gone are released by an
   * adapter that can ask the orchestrator (the Docker adapter asks the Docker engine which containers exist).
   */
  async mountAnswered(name: string, callerId: string): Promise<void> {
    if (!this.started || !this.servesMounts) return;
    await this.locks.run(name, async () => {
      const record = this.table.get(name);
      const hold = record?.callers.get(callerId);
      if (!record || !hold || hold.pending === 0) return;
      engineFailpoint('mount:before-answered-record');
      await this.table.set(name, withAnswered(record, callerId));
    });
  }

  /**
   * The answer to a pending Mount of `name` by `callerId` could not be delivered (the caller's deadline passed, its
   * connection dropped): the caller takes that Mount as failed and will never unmount it, so it is taken back, and
   * the backend released if it was the last. Does nothing when the caller has no pending Mount.
   */
  async mountUndelivered(name: string, callerId: string): Promise<void> {
    if (!this.started || !this.servesMounts) return;
    await this.locks.run(name, async () => {
      const record = this.table.get(name);
      const remaining = record && withUndelivered(record, callerId);
      if (!record || !remaining) return;
      this.logger.warn(
        { volume: name, caller: callerId },
        'a Mount whose answer could not be delivered was taken back',
      );
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

  /**
   * Drops every hold on `name` of the callers in `callerIds` whose latest Mount was counted before `countedBefore`
   * (ms since the epoch): callers an adapter has proven gone (the Docker engine has no container left that could
   * hold the volume). A caller that mounted since keeps its holds. Releases the backend when no hold is left.
   * Returns how many Mounts were dropped.
   */
  async releaseHolds(name: string, callerIds: Iterable<string>, countedBefore: number): Promise<number> {
    if (!this.started || !this.servesMounts) return 0;
    const wanted = new Set(callerIds);
    return this.locks.run(name, async () => {
      const record = this.table.get(name);
      if (!record) return 0;
      const gone = [...record.callers].filter(([id, hold]) => wanted.has(id) && hold.lastMountAt < countedBefore);
      if (gone.length === 0) return 0;
      const dropped = gone.reduce((sum, [, hold]) => sum + hold.count, 0);
      for (const [id] of gone) this.unansweredAtStart.delete(holdKey(name, id));
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
   * The volume's host path on this node: its active mount, else the provider's own path, else undefined (a cloud
   * volume not mounted here). NotFound when no backing has the volume, as Docker's own local driver answers.
   */
  async path(name: string): Promise<string | undefined> {
    this.assertStarted();
    validateVolumeName(name);
    const record = this.table.get(name);
    if (record?.state === 'mounted' && record.mountpoint) return record.mountpoint;
    const volume = await this.get(name);
    if (!volume) throw StowageError.notFound(`volume "${name}" not found`);
    return volume.mountpoint;
  }

  private acceptExisting(
    existing: { provider: StorageProvider; volume: ProviderVolume },
    wanted: StorageProvider,
    options: Record<string, string>,
  ): Volume {
    const { provider, volume } = existing;
    if (provider !== wanted) {
      throw StowageError.alreadyExists(`volume "${volume.name}" already exists with backing=${provider.name}`);
    }
    if (!sameOptions(volume.options, options)) {
      throw StowageError.alreadyExists(
        `volume "${volume.name}" already exists with other options (${describeOptions(volume.options)}); ` +
          'remove it first or create it with the same options',
      );
    }
    return this.toVolume(provider, volume);
  }

  /** Records `record`'s holds; with none left, releases the backend and forgets the volume. Runs under the name's lock. */
  private async commitHolds(name: string, record: MountRecord): Promise<void> {
    if (holdCount(record) > 0) {
      await this.table.set(name, record);
      engineFailpoint('unmount:after-commit');
      return;
    }
    const provider = this.providerFor(record);
    await this.table.set(name, { ...record, state: 'unmounting' });
    engineFailpoint('unmount:after-intent');
    await this.finishRelease(name, provider, record);
    engineFailpoint('unmount:after-commit');
    this.logger.info({ volume: name, backing: record.backing }, 'volume unmounted');
  }

  /** Releases a volume whose last caller left (or that a crash left half mounted) and forgets its record. */
  private async finishRelease(name: string, provider: StorageProvider, record: MountRecord): Promise<void> {
    try {
      await provider.unmount(recordedHandle(name, record));
    } catch (error) {
      // The record stays, marked unmounting with no callers: the next mount or the next start finishes the job.
      throw StowageError.wrap(error, `releasing volume "${name}" (backing ${provider.name}) failed`);
    }
    engineFailpoint('unmount:after-provider');
    await this.table.delete(name);
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

  /** The Mounts the previous process counted but may not have answered, resendable for a short while. */
  private rememberUnanswered(): void {
    this.unansweredAtStart = new Map(
      this.table
        .entries()
        .flatMap(([name, record]) =>
          [...record.callers]
            .filter(([, hold]) => hold.pending > 0)
            .map(([id, hold]) => [holdKey(name, id), hold.pending] as const),
        ),
    );
    if (this.unansweredAtStart.size === 0) return;
    this.resentWindow = setTimeout(() => this.unansweredAtStart.clear(), RESENT_MOUNT_WINDOW_MS);
    this.resentWindow.unref();
  }

  /**
   * Whether this Mount is one the previous process counted and died before answering, sent again, as `confirm`
   * says; if so it is taken off the list, so a later Mount by the same caller (`docker cp`) counts.
   */
  private async takeResentMount(
    name: string,
    callerId: string,
    record: MountRecord | undefined,
    confirm: (() => Promise<boolean>) | undefined,
  ): Promise<boolean> {
    const key = holdKey(name, callerId);
    const left = this.unansweredAtStart.get(key);
    if (left === undefined || (record?.callers.get(callerId)?.pending ?? 0) === 0 || !confirm) return false;
    let confirmed = false;
    try {
      confirmed = (await confirm()) === true;
    } catch (error) {
      this.logger.warn(
        { volume: name, caller: callerId, err: (error as Error).message },
        'could not tell whether a Mount was sent again; counting it',
      );
    }
    if (!confirmed) return false;
    if (left <= 1) this.unansweredAtStart.delete(key);
    else this.unansweredAtStart.set(key, left - 1);
    return true;
  }

  /**
   * Puts every volume of each `local`-scope backing the catalogue has not taken in yet into it (a state directory of
   * 0.1, a backing newly enabled): names missing from the catalogue are not asked of such a backing once it is
   * filled. One that cannot list stays unfilled, so lookups keep asking it, and the next start tries again.
   */
  private async fillCatalogue(): Promise<void> {
    const unfilled = this.router.all().filter((p) => p.scope === 'local' && !this.catalogue.isFilled(p.name));
    await Promise.all(
      unfilled.map(async (provider) => {
        try {
          const volumes = await provider.list();
          await this.catalogue.fill(
            provider.name,
            volumes.map((v) => v.name),
          );
          this.logger.info(
            { backing: provider.name, volumes: volumes.length },
            'volume catalogue filled from the backing',
          );
        } catch (error) {
          this.logger.warn(
            { backing: provider.name, err: (error as Error).message },
            'could not fill the volume catalogue from the backing; lookups of unknown names ask it until a start can',
          );
        }
      }),
    );
  }

  /**
   * Start-up: finishes what a crash interrupted and restores what callers hold. A volume whose remount fails is
   * recorded `unavailable`, never answered as mounted: the next Mount asks the provider again and its failure
   * reaches the caller. Nothing is unmounted on such a failure, as a backend that could not answer now (a cloud API
   * down) may still have the volume mounted under running containers. Then each provider releases what it holds
   * for nobody.
   */
  private async restoreMounts(): Promise<void> {
    const held = new Map<StorageProvider, Set<string>>();
    for (const [name, record] of this.table.entries()) {
      const provider = this.router.byBacking(record.backing);
      if (!provider) {
        this.logger.error(
          { volume: name, backing: record.backing },
          'mount record names a backing that is not enabled; keeping it',
        );
        continue;
      }
      if (holdCount(record) === 0) {
        try {
          await this.finishRelease(name, provider, record);
          this.logger.info({ volume: name, state: record.state }, 'finished an operation interrupted by a restart');
        } catch (error) {
          this.logger.error({ volume: name, err: (error as Error).message }, 'could not release an interrupted mount');
        }
        continue;
      }
      held.set(provider, (held.get(provider) ?? new Set()).add(name));
      this.router.remember(name, provider);
      let restored: MountRecord;
      try {
        const result = await provider.mount(recordedHandle(name, record));
        const ref = this.recordableRef(provider, name, result.ref) ?? record.ref;
        restored = { ...record, state: 'mounted', mountpoint: result.path, ref };
      } catch (error) {
        this.logger.error(
          { volume: name, holds: holdCount(record), err: (error as Error).message },
          'a volume callers hold could not be mounted again; it is not answered as mounted until a Mount succeeds',
        );
        restored = { backing: record.backing, state: 'unavailable', callers: record.callers, ref: record.ref };
      }
      if (restored.state !== record.state || restored.mountpoint !== record.mountpoint || restored.ref !== record.ref)
        await this.table.set(name, restored);
    }
    for (const provider of this.router.all()) {
      try {
        await provider.reconcile?.(held.get(provider) ?? new Set());
      } catch (error) {
        this.logger.error({ backing: provider.name, err: (error as Error).message }, 'backing reconciliation failed');
      }
    }
  }

  /** What a provider gets for a volume the engine has just looked up: the answer, and its ref if it may be recorded. */
  private lookedUp(name: string, { provider, volume }: Located): VolumeHandle {
    const ref = this.recordableRef(provider, name, volume.ref);
    return ref === undefined ? { name, volume } : { name, ref, volume };
  }

  /** `ref` when it may be recorded; a bad one is logged and dropped, and the provider then finds the volume by name. */
  private recordableRef(provider: StorageProvider, name: string, ref: string | undefined): string | undefined {
    if (ref === undefined) return undefined;
    const problem = volumeRefProblem(ref);
    if (problem === undefined) return ref;
    this.logger.warn(
      { volume: name, backing: provider.name, problem },
      'the backing answered a ref that is not recorded',
    );
    return undefined;
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

  private knownVolume(name: string, error: unknown): Volume | undefined {
    const record = this.table.get(name);
    const provider = this.router.cachedOwner(name) ?? (record && this.router.byBacking(record.backing));
    if (!provider) return undefined;
    this.logger.warn({ volume: name, err: (error as Error).message }, 'answering from what this node knows');
    return this.toVolume(provider, { name, options: {}, status: { error: (error as Error).message } });
  }

  private toVolume(provider: StorageProvider, volume: ProviderVolume): Volume {
    const record = this.table.get(volume.name);
    // A provider that hands out the same answer again (the local one keeps its answers) gets the same Volume back
    // while the volume's mount record is the same: List of 10,000 volumes built 10,000 new objects per call, whose
    // garbage set the plugin's peak memory (bench/). Records are replaced on every change, never edited.
    const reported = this.reported.get(volume);
    if (reported && reported.record === record) return reported.volume;
    const mountpoint = record?.state === 'mounted' && record.mountpoint ? record.mountpoint : volume.path;
    const mounts = holdCount(record);
    // Built without spreads, keys in their usual order: a conditional spread costs a temporary object.
    const result = { name: volume.name, backing: provider.name, scope: provider.scope } as {
      -readonly [K in keyof Volume]: Volume[K];
    };
    if (volume.createdAt) result.createdAt = volume.createdAt;
    result.options = volume.options;
    if (mountpoint) result.mountpoint = mountpoint;
    result.status = volume.status
      ? { ...volume.status, backing: provider.name, mounts }
      : { backing: provider.name, mounts };
    this.reported.set(volume, { record, volume: result });
    return result;
  }

  private assertStarted(): void {
    if (!this.started) throw StowageError.backendFailure('the volume engine is not started');
  }

  private assertServesMounts(): void {
    this.assertStarted();
    if (!this.servesMounts) {
      throw StowageError.invalidArgument(
        'this engine was started as a catalogue only (restore: false): it mounts and unmounts nothing',
      );
    }
  }
}

function validateCallerId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || id.length === 0) throw StowageError.invalidArgument('mount ID is required');
  if (id.length > MAX_CALLER_ID_LENGTH || CONTROL_CHARACTERS.test(id)) {
    throw StowageError.invalidArgument(`invalid mount ID: at most ${MAX_CALLER_ID_LENGTH} printable characters`);
  }
}

function holdKey(name: string, callerId: string): string {
  return `${name}\0${callerId}`;
}

function sameOptions(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  // Own values only: an option named `constructor` in one record must not meet the other's inherited function.
  const own = (options: Readonly<Record<string, string>>, key: string) =>
    Object.hasOwn(options, key) ? options[key] : undefined;
  for (const key of keys) if (own(a, key) !== own(b, key)) return false;
  return true;
}

function describeOptions(options: Readonly<Record<string, string>>): string {
  const entries = Object.entries(options);
  return entries.length === 0 ? 'no options' : entries.map(([k, v]) => `${k}=${v}`).join(', ');
}
