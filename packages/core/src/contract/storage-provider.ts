import type { OptionSpecs } from './define-options.js';
import type { NodeFacts } from './node-facts.js';
import type { OptionValues } from './option-spec.js';
import type { SizeOption } from './size-option.js';

/**
 * Where a provider's volumes are visible. `local`: only on the node that created them (a host directory).
 * `global`: from every node of the cluster (the cloud is the catalogue), so any node may list, inspect and
 * remove them. Reported to Docker through `Capabilities`.
 */
export type VolumeScope = 'local' | 'global';

/** What a provider knows of one of its volumes. */
export interface ProviderVolume {
  /** The Stowage volume name (already validated by the engine). */
  readonly name: string;
  /** When the volume was created, if the backend records it. */
  readonly createdAt?: Date;
  /**
   * The create options the volume was made with, as strings (after defaults): `formatOptionValues(request.options)`
   * of its {@link CreateRequest}, recorded with the volume. A repeated create of the name is accepted only when its
   * options format to exactly this record, so record every option, unchanged.
   */
  readonly options: Readonly<Record<string, string>>;
  /**
   * Where the volume's data is on this node without mounting, if it has such a place (a local directory).
   * Cloud volumes leave this out; the engine reports the mountpoint of an active mount instead.
   */
  readonly path?: string;
  /** Backend facts shown by `docker volume inspect` under Status (size, type, backend id, attached node...). */
  readonly status?: Readonly<Record<string, unknown>>;
  /**
   * The provider's own reference to this volume (an EBS volume id, an EFS access point id), opaque to the engine:
   * the engine records it with the volume's mount and hands it back in {@link VolumeHandle.ref}, so a later call
   * (an Unmount after a restart) can act without finding the volume by name again. At most
   * {@link MAX_VOLUME_REF_LENGTH} printable characters: the engine keeps no ref beyond that, and logs it.
   */
  readonly ref?: string;
}

/** The longest {@link ProviderVolume.ref} the engine records: refs live in every mount record, so they stay small. */
export const MAX_VOLUME_REF_LENGTH = 1024;

/**
 * What the engine hands back to a provider for one of its volumes, so the provider need not look up by name what
 * the engine has just looked up (on EBS that lookup is a DescribeVolumes call, rate-limited per account).
 *
 * Only {@link name} is certain. A handle may carry no ref and no volume at all: a mount record written before refs
 * existed, or a ref the engine refused. A provider then finds the volume by name, as it would without handles.
 */
export interface VolumeHandle {
  readonly name: string;
  /** {@link ProviderVolume.ref} as the provider answered it, when the engine has it (absent for records of older versions). */
  readonly ref?: string;
  /**
   * The volume as {@link StorageProvider.inspect} answered it just now, under this volume's lock, when the engine looked
   * it up for this call (a Mount, a Remove); absent for start-up remounts and releases. Nothing of this node changed
   * the volume since, but another node may have (a `global` backend): act on it as on the answer of a lookup of
   * your own made at the start of the call.
   */
  readonly volume?: ProviderVolume;
}

/**
 * A request to create a volume. Options are validated and parsed against {@link StorageProvider.options}; `O` is
 * their parsed type, `InferOptions<typeof MY_OPTIONS>` for options declared with `defineOptions`.
 */
export interface CreateRequest<O extends object = OptionValues> {
  /** A valid volume name: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`, at most 200 characters, so never `.`, `..` or with a `/`. */
  readonly name: string;
  /**
   * The parsed options with defaults applied, typed by their spec (`integer` as a number, `boolean` as a boolean,
   * `string` normalised), without `backing`. An option with no value and no default is absent.
   */
  readonly options: O;
}

/**
 * What a provider declares about its volumes beyond the contract's defaults, so the engine and the conformance kit
 * adapt to it instead of the provider faking what it cannot do.
 */
export interface ProviderCapabilities {
  /**
   * `true`: a volume's data does not outlive Unmount (tmpfs, scratch disks); each Mount after the last Unmount may
   * start empty. The volume itself (its name and options) still lives until Remove. Default `false`: data persists.
   */
  readonly ephemeral?: boolean;
  /**
   * `true`: {@link StorageProvider.mount} serves the volume where it already is (its {@link ProviderVolume.path}) and
   * makes nothing that a crash could leave behind (no mount, no attachment, no device), and
   * {@link StorageProvider.unmount} has nothing to release. A restart then has nothing to undo, so the engine records
   * a first Mount and a last Unmount once, after the call, where it otherwise records its intent before the call as
   * well: one synced write each instead of two. The conformance kit checks the claim. Default `false`.
   */
  readonly mountsInPlace?: boolean;
}

/** The result of making a volume usable on this node. */
export interface MountResult {
  /** The host path to hand to the container. Must exist and stay valid until {@link StorageProvider.unmount}. */
  readonly path: string;
  /**
   * The ref of what was mounted, if the provider knows it; needed only when it may not be the one the Mount was
   * handed: the volume became another one of the backend's on the way (EBS moved it to this zone as a new volume).
   * The engine records it in place of the handle's, so the Unmount gets the ref of what is mounted. Same limits as
   * {@link ProviderVolume.ref}; left out, the handle's ref stays recorded.
   */
  readonly ref?: string;
}

/**
 * A storage backend, as a driver author implements it.
 *
 * The engine guarantees, so a provider need not:
 * - names and options are validated against {@link options} before any call;
 * - operations on one volume name are serialised on this node (never two at once for one name);
 * - {@link mount} is called only for the first user of a volume on this node and {@link unmount} only after the
 *   last one left: reference counting by caller is the engine's;
 * - {@link remove} is never called while this node has the volume mounted.
 *
 * {@link inspect} and {@link list} are not serialised with the rest: they may run while a create or a remove of
 * the same name is under way, so publish and delete a volume in one atomic step (a rename, a tag).
 *
 * A provider throws {@link StowageError}s; anything else thrown is reported as a backend failure.
 * It must never answer "not found" for a volume it merely failed to look up: Docker forgets volumes on that answer.
 */
export interface StorageProvider<O extends object = OptionValues> {
  /** The backing name users select with `--opt backing=<name>` (`local`, `ebs`). */
  readonly name: string;
  /** Other names for the backing (`relocatable` for `ebs`, `shared` for `efs`). */
  readonly aliases?: readonly string[];
  readonly scope: VolumeScope;
  /**
   * The create options accepted, usually declared with `defineOptions`, whose parsed type is `O`. `backing` is the
   * engine's and must not be declared.
   */
  readonly options: OptionSpecs<O>;
  /** What this backing cannot promise (data that does not outlive Unmount); nothing when left out. */
  readonly capabilities?: ProviderCapabilities;
  /**
   * Which of {@link options} is the volume's size, and in what unit: adapters that size volumes in bytes (CSI's
   * `capacity_range`) then set and report it. Left out, volumes have no size an adapter can set (a directory).
   */
  readonly size?: SizeOption;

  /**
   * Optional cross-option checks beyond what {@link options} can declare. Throw an InvalidArgument
   * StowageError; called before {@link create}, after per-option validation, outside the per-volume lock and
   * even when the volume already exists: check the request only, with no I/O.
   */
  validate?(request: CreateRequest<O>): void;

  /**
   * Checks the backend is usable at start-up (credentials, file system present). Throw with a message that says
   * what is missing; the plugin refuses to start rather than fail later.
   */
  init?(): Promise<void>;

  /**
   * Optional: resolves when the backing can serve now, throws (with a message saying what is wrong) when it cannot.
   * A readiness probe (the HTTP ops server's `/readyz`) calls it every few seconds, with a time budget (5 s by
   * default) past which the backing counts as not ready: keep it cheap, with no call billed or rate-limited per
   * account where avoidable, and never mount or change anything. Left out, an enabled backing counts as ready.
   */
  checkReady?(): Promise<void>;

  /**
   * Optional: the bytes this backing can still give new volumes, as its storage says now (the free space of the file
   * system holding its volumes). A CSI orchestrator asks it (GetCapacity) to decide where volumes fit. Leave it out
   * where the question has no answer: storage that grows with its volumes (an elastic file system) or volumes made to
   * order (a cloud disk); the CSI adapter then does not offer GetCapacity for this backing. Keep it cheap (one
   * `statfs`), with no call billed per account, and never change anything.
   */
  capacity?(): Promise<number>;

  /**
   * Optional: what this backing knows of this node (its id in the backing's world, how many volumes it can use at
   * once, where it is). Called after {@link init}, often: answer from what init learned, with no I/O. Left out, the
   * backing knows nothing of the node.
   */
  nodeFacts?(): NodeFacts;

  /**
   * Creates the volume. Called only when no backing that may hold the name has it (see {@link inspect}); must still
   * be safe if another node creates the same name at once (end with one volume).
   */
  create(request: CreateRequest<O>): Promise<ProviderVolume>;

  /**
   * Deletes the volume and its data. Throws NotFound if there is no such volume. Never called while this node
   * holds the volume mounted; a `global` backend that can tell another node holds it throws InUse. The engine has
   * just inspected the volume and hands that answer over in {@link VolumeHandle.volume}, unless it released a
   * half-made mount of it in between (the answer would be out of date): then only the name and ref.
   */
  remove(volume: VolumeHandle): Promise<void>;

  /**
   * The volume, or `undefined` if it truly does not exist. Throws BackendFailure when it cannot tell.
   *
   * The engine keeps a catalogue of which backing holds each name, and asks only that backing (Docker's Get on each
   * container start and stop, every mount and remove). A name the catalogue lacks (a create, a volume another node
   * made) is asked of every `global` provider at once, and of a `local` one only until the engine has taken in its
   * {@link list} (once, at a start): a `local` provider is never asked about another backing's volumes, a `global`
   * one may be, so keep it cheap (no mount per call) and answer `undefined` for names that are not yours. Each call
   * has a time budget (10 s by default): past it, or on a throw, the lookup fails with BackendFailure naming this
   * backing, for the names it may hold only; lookups of other backings' names never wait for it. The answer is the
   * truth about existence: the catalogue only says whom to ask.
   */
  inspect(name: string): Promise<ProviderVolume | undefined>;

  /** Every volume of this backing visible from this node (all of the cluster's for `global` scope). */
  list(): Promise<ProviderVolume[]>;

  /**
   * Makes the volume usable on this node (attach, format if empty, mount) and returns the path for containers.
   * Must be idempotent: called again for a volume already mounted here (after a restart), it checks the mount
   * and returns the same path, re-establishing it if the host lost it. A Mount comes with the volume as inspect just
   * answered it ({@link VolumeHandle.volume}); a remount at start-up with the name and the ref recorded at the Mount.
   */
  mount(volume: VolumeHandle): Promise<MountResult>;

  /**
   * Releases the volume on this node (unmount, detach). Idempotent: succeeds if it is not mounted. Also called
   * after a failed {@link mount} and at start-up for a mount a crash interrupted, so it must undo a half-made one.
   * Gets the name and the ref recorded at the Mount (that of {@link MountResult.ref} when the Mount answered one),
   * never a volume: it may run long after any lookup, in another process.
   */
  unmount(volume: VolumeHandle): Promise<void>;

  /**
   * Called once at start-up after the engine restored its mount table, with the names this node still holds
   * for callers. Release anything the backend has mounted or attached on this node for other names (a crash
   * between mount and record leaves such leftovers).
   */
  reconcile?(held: ReadonlySet<string>): Promise<void>;

  /**
   * Stops timers and closes clients. Leaves the mounts of volumes in place: they are recorded and callers still hold
   * them. What the provider kept up while enabled (a file system mount no volume holds) is its own to let go of.
   */
  close?(): Promise<void>;
}
