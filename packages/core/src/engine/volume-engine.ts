import 'reflect-metadata';
import { inject, injectable, multiInject, optional, type ServiceIdentifier } from 'inversify';
import type { ProviderVolume, StorageProvider, VolumeScope } from '../contract/storage-provider.js';
import { StowageError } from '../errors/stowage-error.js';
import { NO_VOLUME_EVENTS, type VolumeEventSink } from '../events/volume-event-sink.js';
import type { HostOperations } from '../host/host-operations.js';
import type { Logger } from '../logging/logger.js';
import { NO_TELEMETRY, type StowageTelemetry } from '../telemetry/stowage-telemetry.js';
import { HOST_OPERATIONS, LOGGER, STORAGE_PROVIDER, TELEMETRY, VOLUME_EVENTS } from '../tokens.js';
import { BackingRouter } from './backing-router.js';
import { VolumeCatalogue } from './volume-catalogue.js';
import { engineFailpoint } from './engine-failpoints.js';
import { KeyedMutex } from './keyed-mutex.js';
import { MountCounter, type EngineMountOptions, type HeldVolume } from './mount-counter.js';
import { holdCount, recordedHandle, type MountRecord } from './mount-record.js';
import { MountTable } from './mount-table.js';
import { fillCatalogue, restoreMounts } from './start-up-reconciliation.js';
import { formatOptionValues, parseOptions } from './option-parser.js';
import { StateDirLock } from './state-dir-lock.js';
import type { BackingNodeFacts, BackingReadiness, BackingSummary, BackingVolumeCount, Volume } from './volume.js';
import { backingSize, type BackingSize } from './backing-size.js';
import { validateVolumeName } from './volume-name.js';

/** The engine's own settings. */
export interface EngineSettings {
  /** Holds this node's mount table and the engine lock; created 0700 if missing. */
  readonly stateDir: string;
  /** The backing for creates that name none; without it, the first of {@link backingPreference} enabled. */
  readonly defaultBacking?: string;
  /**
   * Backing names or aliases in order of preference for creates that name none, when no {@link defaultBacking} is
   * set; the first provider when none of them is enabled (the Docker adapter prefers shared, relocatable, local).
   */
  readonly backingPreference?: readonly string[];
  /**
   * How long one backing may take to answer a lookup before the lookup fails with BackendFailure naming it (10 s by
   * default). Only lookups of names that backing may hold wait for it.
   */
  readonly lookupTimeoutMs?: number;
  /**
   * This host's boot ID (`readBootId`), stamped on each hold counted. Known, it spares a backing that mounts in place
   * the sync of its mount records (a start in a later boot releases what a power cut left of them); undefined, every
   * record is synced.
   */
  readonly bootId?: string;
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

/** How long {@link VolumeEngine.readiness} waits for one backing's check. */
export const DEFAULT_READINESS_BUDGET_MS = 5_000;

/** The create option the engine consumes itself to route a volume to a backing. */
const BACKING_OPTION = 'backing';

/**
 * The volume engine: what every adapter calls, serving any number of providers at once. It validates names and
 * options, routes each volume to its backing (through the {@link BackingRouter} and its catalogue) and serialises
 * operations per volume name; mount counting is the {@link MountCounter}'s, over this node's mount table, and a
 * start reconciles both with the backings (`start-up-reconciliation`).
 *
 * Each change it makes is reported to its {@link VolumeEventSink} once made and recorded, never for a refusal or a
 * failure: `volume.created`, `volume.removed`, and `volume.mounted` / `volume.unmounted` when the backing mounts the
 * volume for its first holder and releases it after the last (a hold alone is not an event). What a start-up
 * reconciliation restores or finishes is not reported: it changes nothing callers asked for.
 */
@injectable()
export class VolumeEngine {
  private readonly router: BackingRouter;
  private readonly locks = new KeyedMutex();
  private readonly table: MountTable;
  private readonly mounts: MountCounter;
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
    // Left out (tests, tools), events go nowhere.
    @inject(VOLUME_EVENTS) @optional() private readonly events: VolumeEventSink = NO_VOLUME_EVENTS,
    // Optional for engines built without the composition root (tests, tools): they report nowhere.
    @inject(TELEMETRY) @optional() telemetry: StowageTelemetry = NO_TELEMETRY,
  ) {
    this.catalogue = new VolumeCatalogue(settings.stateDir, logger, telemetry);
    this.router = new BackingRouter(providers, settings.defaultBacking, {
      catalogue: this.catalogue,
      ...(settings.lookupTimeoutMs !== undefined ? { lookupTimeoutMs: settings.lookupTimeoutMs } : {}),
      ...(settings.backingPreference !== undefined ? { preference: settings.backingPreference } : {}),
      onCatalogueError: (error) =>
        this.logger.warn(
          { err: (error as Error).message },
          'could not write the volume catalogue; lookups ask the backings meanwhile',
        ),
    });
    this.table = new MountTable(settings.stateDir, telemetry);
    this.mounts = new MountCounter(this.table, this.router, this.locks, logger, this.events, settings.bootId);
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
      await fillCatalogue(this.router, this.catalogue, this.logger);
      if (restore) {
        await this.table.load();
        await restoreMounts(this.table, this.router, this.mounts, this.logger, this.settings.bootId);
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
   * The size option of backing `backing` (a name or alias; the default backing when undefined), or undefined when its
   * volumes have no size to set (see `StorageProvider.size`). Throws InvalidArgument for a backing not configured.
   */
  sizeOf(backing: string | undefined): BackingSize | undefined {
    const provider = this.router.select(backing);
    return provider.size && backingSize(provider.size, provider.options);
  }

  /** What each backing that knows anything of this node says of it (`StorageProvider.nodeFacts`), once started. */
  nodeFacts(): BackingNodeFacts[] {
    this.assertStarted();
    return this.router.all().flatMap((provider) => {
      const facts = provider.nodeFacts?.();
      return facts ? [{ ...facts, backing: provider.name }] : [];
    });
  }

  /**
   * Per backing, the volumes the catalogue knows and whether that is all of them (a `local` backing listed at start,
   * any backing once listed: for a global one, as of that list plus this node's own creates and removes, since other
   * nodes create them too). Read from memory, no backing is asked: a metrics scrape reads this every few seconds.
   * Every enabled backing is present.
   */
  volumeCounts(): BackingVolumeCount[] {
    const counts = this.catalogue.countByBacking();
    return this.router.all().map(({ name }) => ({
      name,
      volumes: counts.get(name) ?? 0,
      complete: this.catalogue.isFilled(name) || this.router.wasListed(name),
    }));
  }

  /**
   * Whether each backing can serve now: its provider's {@link StorageProvider.checkReady} check, each within `budgetMs`
   * ({@link DEFAULT_READINESS_BUDGET_MS} by default), all at once. Never throws: a failing or hung check is a
   * backing answered not ready, with the reason. Meant for a readiness probe, so called often: checks are cheap,
   * and a hung one is not started again while it runs.
   */
  readiness(budgetMs: number = DEFAULT_READINESS_BUDGET_MS): Promise<BackingReadiness[]> {
    return this.router.readiness(budgetMs);
  }

  /**
   * Whether the backing named `backing` (a name or alias; the default one when undefined) can say how many bytes it
   * can still give new volumes ({@link StorageProvider.capacity}). Throws InvalidArgument for an unknown backing.
   */
  measuresCapacity(backing?: string): boolean {
    return this.router.select(backing).capacity !== undefined;
  }

  /**
   * The bytes the backing named `backing` (a name or alias; the default one when undefined) can still give new
   * volumes, as its provider says now; undefined when it has no such answer (see {@link measuresCapacity}). Throws
   * InvalidArgument for an unknown backing, BackendFailure when the provider cannot tell.
   */
  async capacity(backing?: string): Promise<number | undefined> {
    this.assertStarted();
    const provider = this.router.select(backing);
    if (!provider.capacity) return undefined;
    let bytes: number;
    try {
      bytes = await provider.capacity();
    } catch (error) {
      throw StowageError.wrap(error, `backing ${provider.name}: cannot tell its free capacity`);
    }
    if (!Number.isSafeInteger(bytes) || bytes < 0) {
      throw StowageError.backendFailure(`backing ${provider.name}: its capacity ${bytes} is not a number of bytes`);
    }
    return bytes;
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
      this.events.emit({ type: 'volume.created', volume: name, backing: provider.name, options: created.options });
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
      if (record) {
        await this.mounts.finishRelease(name, found.provider, record);
        // A release a failure left half done: the volume was reported mounted, and is let go only now.
        this.events.emit({ type: 'volume.unmounted', volume: name, backing: found.provider.name });
      }
      engineFailpoint('remove:before-provider');
      try {
        // After a release the lookup's answer is out of date (an attachment it shows is gone): the name and ref only.
        await found.provider.remove(record ? recordedHandle(name, record) : this.mounts.lookedUp(name, found));
      } catch (error) {
        throw StowageError.wrap(error, `removing volume "${name}" from backing ${found.provider.name} failed`);
      }
      engineFailpoint('remove:after-provider');
      // Forgotten only once the backend removed it: a crash in between leaves an entry the next lookup drops.
      await this.router.forget(name);
      this.logger.info({ volume: name, backing: found.provider.name }, 'volume removed');
      this.events.emit({ type: 'volume.removed', volume: name, backing: found.provider.name });
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
   * {@link EngineMountOptions} for callers that learn of the Mount only from the answer, and that send it again.
   */
  async mount(name: string, callerId: string, options: EngineMountOptions = {}): Promise<string> {
    this.assertServesMounts();
    validateVolumeName(name);
    return this.mounts.mount(name, callerId, options);
  }

  /** Matches one earlier {@link mount} by `callerId`; the backend releases the volume when none is left. */
  async unmount(name: string, callerId: string): Promise<void> {
    this.assertServesMounts();
    validateVolumeName(name);
    await this.mounts.unmount(name, callerId);
  }

  /**
   * A provisional Mount of `name` by `callerId` is final (its answer reached the caller). Off the answer's path; lost
   * (a crash just after the answer left), the Mount stays provisional, which only matters if the caller gives it up:
   * an adapter that can ask its orchestrator which callers still exist releases the holds of gone ones
   * ({@link releaseHolds}). Does nothing when the caller has no provisional Mount.
   */
  async confirmMount(name: string, callerId: string): Promise<void> {
    if (!this.started || !this.servesMounts) return;
    await this.mounts.confirm(name, callerId);
  }

  /**
   * A provisional Mount of `name` by `callerId` is taken back (its answer could not be delivered, so the caller takes
   * it as failed and will never unmount it); the backend is released if it was the last. Does nothing when the
   * caller has no provisional Mount.
   */
  async withdrawMount(name: string, callerId: string): Promise<void> {
    if (!this.started || !this.servesMounts) return;
    await this.mounts.withdraw(name, callerId);
  }

  /** Every volume this node holds for callers, with each caller's holds. */
  holds(): HeldVolume[] {
    return this.mounts.holds();
  }

  /**
   * Drops every hold on `name` of the callers in `callerIds` whose latest Mount was counted before `countedBefore`
   * (ms since the epoch): callers an adapter has proven gone (its orchestrator has no task left that could hold the
   * volume). A caller that mounted since keeps its holds. Releases the backend when no hold is left. Returns how
   * many Mounts were dropped.
   */
  async releaseHolds(name: string, callerIds: Iterable<string>, countedBefore: number): Promise<number> {
    if (!this.started || !this.servesMounts) return 0;
    return this.mounts.releaseHolds(name, callerIds, countedBefore);
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
