import type {
  CreateRequest,
  MountResult,
  OptionSpec,
  ProviderCapabilities,
  ProviderVolume,
  StorageProvider,
  VolumeHandle,
  VolumeScope,
} from '../../src/index.js';
import { StowageError } from '../../src/errors/stowage-error.js';
import { formatOptionValues } from '../../src/engine/option-parser.js';

/** An in-memory provider for engine unit tests: records every call, and can be told to fail. */
export class MemoryProvider implements StorageProvider {
  readonly volumes = new Map<string, ProviderVolume>();
  readonly mounted = new Set<string>();
  readonly calls: string[] = [];
  failNext: Partial<
    Record<'init' | 'create' | 'inspect' | 'list' | 'mount' | 'unmount' | 'remove' | 'reconcile', Error>
  > = {};
  /** Calls of the lifecycle hooks, kept apart from {@link calls}: every start makes them. */
  inits = 0;
  closes = 0;
  /** Delay every mount by this many ms, to widen race windows. */
  mountDelayMs = 0;
  reconciledWith: ReadonlySet<string> | undefined;
  /** Where mounts land, `/mnt/<name>` unless set (a node whose mount paths changed across a reboot answers another). */
  mountRoot: string | undefined;
  /** The ref a new volume gets (`ProviderVolume.ref`); none when it answers undefined. */
  refOf: (name: string) => string | undefined = (name) => `mem-${name}`;
  /** A ref for mount to answer in `MountResult.ref` (the volume became another on the way); none when undefined. */
  mountedRef: string | undefined;
  /** What it declares; a test sets `{ mountsInPlace: true }` to be a backing like `local`. */
  capabilities: ProviderCapabilities | undefined;
  /** Every handle mount, unmount and remove were given, in order. */
  readonly handles: Array<{ readonly op: 'mount' | 'unmount' | 'remove'; readonly handle: VolumeHandle }> = [];

  constructor(
    readonly name = 'mem',
    readonly scope: VolumeScope = 'local',
    readonly options: readonly OptionSpec[] = [
      { name: 'size', type: 'integer', description: 'size in GiB', min: 1, max: 100 },
      { name: 'kind', type: 'string', description: 'kind', values: ['a', 'b'], default: 'a' },
    ],
    readonly aliases: readonly string[] = [],
  ) {}

  async init(): Promise<void> {
    this.inits += 1;
    this.failIfTold('init');
  }
  async close(): Promise<void> {
    this.closes += 1;
  }
  private take(op: keyof MemoryProvider['failNext']): void {
    this.calls.push(op);
    this.failIfTold(op);
  }
  private failIfTold(op: keyof MemoryProvider['failNext']): void {
    const error = this.failNext[op];
    if (error) {
      delete this.failNext[op];
      throw error;
    }
  }

  async create(request: CreateRequest): Promise<ProviderVolume> {
    this.take('create');
    const ref = this.refOf(request.name);
    const volume = {
      name: request.name,
      options: formatOptionValues(request.options),
      createdAt: new Date('2026-01-02T03:04:05Z'),
      ...(ref === undefined ? {} : { ref }),
    };
    this.volumes.set(request.name, volume);
    return volume;
  }
  async remove(handle: VolumeHandle): Promise<void> {
    const { name } = handle;
    this.handles.push({ op: 'remove', handle });
    this.take('remove');
    if (!this.volumes.delete(name)) throw StowageError.notFound(`no ${name}`);
  }
  async inspect(name: string): Promise<ProviderVolume | undefined> {
    this.take('inspect');
    return this.volumes.get(name);
  }
  async list(): Promise<ProviderVolume[]> {
    this.take('list');
    return [...this.volumes.values()];
  }
  async mount(handle: VolumeHandle): Promise<MountResult> {
    const { name } = handle;
    this.handles.push({ op: 'mount', handle });
    this.take('mount');
    if (this.mountDelayMs) await new Promise((r) => setTimeout(r, this.mountDelayMs));
    if (!this.volumes.has(name)) throw StowageError.notFound(`no ${name}`);
    this.mounted.add(name);
    const path = `${this.mountRoot ?? `/mnt/${this.name}`}/${name}`;
    return this.mountedRef === undefined ? { path } : { path, ref: this.mountedRef };
  }
  async unmount(handle: VolumeHandle): Promise<void> {
    const { name } = handle;
    this.handles.push({ op: 'unmount', handle });
    this.take('unmount');
    this.mounted.delete(name);
  }
  async reconcile(held: ReadonlySet<string>): Promise<void> {
    this.failIfTold('reconcile');
    this.reconciledWith = held;
  }
  count(op: string): number {
    return this.calls.filter((c) => c === op).length;
  }
}
