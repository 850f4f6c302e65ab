import type { CreateRequest, MountResult, ProviderVolume, StorageProvider } from '../contract/storage-provider.js';

/** The provider operations the conformance suite counts. */
export type CountedOperation = 'create' | 'remove' | 'inspect' | 'list' | 'mount' | 'unmount';

/**
 * Wraps a provider and counts its calls per operation and volume name, so the suite can prove what the engine
 * promises the provider (one backend mount for many callers, no create for a refused request) and not only what
 * callers see.
 */
export class CountingProvider implements StorageProvider {
  private readonly counts = new Map<string, number>();

  constructor(readonly inner: StorageProvider) {}

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

  /** How many times `operation` was called, for volume `name` or for any name. */
  calls(operation: CountedOperation, name?: string): number {
    if (name !== undefined) return this.counts.get(`${operation}:${name}`) ?? 0;
    let total = 0;
    for (const [key, count] of this.counts) if (key.startsWith(`${operation}:`)) total += count;
    return total;
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
  remove(name: string): Promise<void> {
    this.count('remove', name);
    return this.inner.remove(name);
  }
  inspect(name: string): Promise<ProviderVolume | undefined> {
    this.count('inspect', name);
    return this.inner.inspect(name);
  }
  list(): Promise<ProviderVolume[]> {
    this.count('list', '');
    return this.inner.list();
  }
  mount(name: string): Promise<MountResult> {
    this.count('mount', name);
    return this.inner.mount(name);
  }
  unmount(name: string): Promise<void> {
    this.count('unmount', name);
    return this.inner.unmount(name);
  }
  async reconcile(held: ReadonlySet<string>): Promise<void> {
    await this.inner.reconcile?.(held);
  }
  async close(): Promise<void> {
    await this.inner.close?.();
  }

  private count(operation: CountedOperation, name: string): void {
    const key = `${operation}:${name}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }
}
