import type { CreateRequest, MountResult, OptionSpec, ProviderVolume, StorageProvider, VolumeScope } from '../../src/index.js';
import { StowageError } from '../../src/errors/stowage-error.js';
import { formatOptionValues } from '../../src/engine/option-parser.js';

/** An in-memory provider for engine unit tests: records every call, and can be told to fail. */
export class MemoryProvider implements StorageProvider {
  readonly volumes = new Map<string, ProviderVolume>();
  readonly mounted = new Set<string>();
  readonly calls: string[] = [];
  failNext: Partial<Record<'create' | 'inspect' | 'list' | 'mount' | 'unmount' | 'remove', Error>> = {};
  /** Delay every mount by this many ms, to widen race windows. */
  mountDelayMs = 0;
  reconciledWith: ReadonlySet<string> | undefined;

  constructor(
    readonly name = 'mem',
    readonly scope: VolumeScope = 'local',
    readonly options: readonly OptionSpec[] = [
      { name: 'size', type: 'integer', description: 'size in GiB', min: 1, max: 100 },
      { name: 'kind', type: 'string', description: 'kind', values: ['a', 'b'], default: 'a' },
    ],
    readonly aliases: readonly string[] = [],
  ) {}

  private take(op: keyof MemoryProvider['failNext']): void {
    this.calls.push(op);
    const error = this.failNext[op];
    if (error) {
      delete this.failNext[op];
      throw error;
    }
  }

  async create(request: CreateRequest): Promise<ProviderVolume> {
    this.take('create');
    const volume = { name: request.name, options: formatOptionValues(request.options), createdAt: new Date('2026-01-02T03:04:05Z') };
    this.volumes.set(request.name, volume);
    return volume;
  }
  async remove(name: string): Promise<void> {
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
  async mount(name: string): Promise<MountResult> {
    this.take('mount');
    if (this.mountDelayMs) await new Promise((r) => setTimeout(r, this.mountDelayMs));
    if (!this.volumes.has(name)) throw StowageError.notFound(`no ${name}`);
    this.mounted.add(name);
    return { path: `/mnt/${this.name}/${name}` };
  }
  async unmount(name: string): Promise<void> {
    this.take('unmount');
    this.mounted.delete(name);
  }
  async reconcile(held: ReadonlySet<string>): Promise<void> {
    this.reconciledWith = held;
  }
  count(op: string): number {
    return this.calls.filter((c) => c === op).length;
  }
}
