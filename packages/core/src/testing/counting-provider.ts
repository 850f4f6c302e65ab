import type { NodeFacts } from '../contract/node-facts.js';
import type {
  CreateRequest,
  MountResult,
  ProviderVolume,
  StorageProvider,
  VolumeHandle,
} from '../contract/storage-provider.js';

/** The provider operations the conformance suite counts. */
export type CountedOperation = 'create' | 'remove' | 'inspect' | 'list' | 'mount' | 'unmount';

/** The operations that get a {@link VolumeHandle}. */
export type HandledOperation = 'remove' | 'mount' | 'unmount';

/**
 * Wraps a provider and counts its calls per operation and volume name, so the suite can prove what the engine
 * promises the provider (one backend mount for many callers, no create for a refused request, its refs handed back)
 * and not only what callers see.
 */
export class CountingProvider implements StorageProvider {
  private readonly counts = new Map<string, number>();
  private readonly handles = new Map<string, VolumeHandle>();
  private readonly mountedRefs = new Map<string, string | undefined>();

  /** The inner provider's, when it has one: whether a backing has a capacity at all is what the engine reads. */
  readonly capacity?: () => Promise<number>;

  constructor(readonly inner: StorageProvider) {
    const { capacity } = inner;
    if (capacity) this.capacity = () => capacity.call(inner);
  }

  get name(): string {
    return this.inner.name;
  }
  get aliases(): StorageProvider['aliases'] {
    return this.inner.aliases;
  }
  get scope(): StorageProvider['scope'] {
    return this.inner.scope;
  }
  get options(): StorageProvider['options'] {
    return this.inner.options;
  }
  get capabilities(): StorageProvider['capabilities'] {
    return this.inner.capabilities;
  }
  get size(): StorageProvider['size'] {
    return this.inner.size;
  }

  /** How many times `operation` was called, for volume `name` or for any name. */
  calls(operation: CountedOperation, name?: string): number {
    if (name !== undefined) return this.counts.get(`${operation}:${name}`) ?? 0;
    let total = 0;
    for (const [key, count] of this.counts) if (key.startsWith(`${operation}:`)) total += count;
    return total;
  }

  /** The handle of the latest `operation` call for volume `name`. */
  lastHandle(operation: HandledOperation, name: string): VolumeHandle | undefined {
    return this.handles.get(`${operation}:${name}`);
  }

  /** The ref the latest successful mount of `name` left the engine to record: its answer's, else the handle's. */
  mountedRef(name: string): string | undefined {
    return this.mountedRefs.get(name);
  }

  nodeFacts(): NodeFacts {
    return this.inner.nodeFacts?.() ?? {};
  }
  validate(request: CreateRequest): void {
    this.inner.validate?.(request);
  }
  async init(): Promise<void> {
    await this.inner.init?.();
  }
  create(request: CreateRequest): Promise<ProviderVolume> {
    this.count('create', request.name);
    return this.inner.create(request);
  }
  remove(volume: VolumeHandle): Promise<void> {
    this.handled('remove', volume);
    return this.inner.remove(volume);
  }
  inspect(name: string): Promise<ProviderVolume | undefined> {
    this.count('inspect', name);
    return this.inner.inspect(name);
  }
  list(): Promise<ProviderVolume[]> {
    this.count('list', '');
    return this.inner.list();
  }
  async mount(volume: VolumeHandle): Promise<MountResult> {
    this.handled('mount', volume);
    const result = await this.inner.mount(volume);
    this.mountedRefs.set(volume.name, result.ref ?? volume.ref);
    return result;
  }
  unmount(volume: VolumeHandle): Promise<void> {
    this.handled('unmount', volume);
    return this.inner.unmount(volume);
  }
  async reconcile(held: ReadonlySet<string>): Promise<void> {
    await this.inner.reconcile?.(held);
  }
  async close(): Promise<void> {
    await this.inner.close?.();
  }

  private handled(operation: HandledOperation, volume: VolumeHandle): void {
    this.count(operation, volume.name);
    this.handles.set(`${operation}:${volume.name}`, volume);
  }

  private count(operation: CountedOperation, name: string): void {
    const key = `${operation}:${name}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }
}
