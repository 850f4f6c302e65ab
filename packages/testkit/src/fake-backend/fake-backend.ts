import {
  StowageError,
  formatOptionValues,
  type CreateRequest,
  type MountResult,
  type OptionSpec,
  type ProviderVolume,
  type StorageProvider,
  type VolumeHandle,
  type VolumeScope,
} from '@stowage/core';

/** The provider calls a {@link FakeBackend} can be told to fail or to hold. */
export type BackendCall = 'create' | 'remove' | 'inspect' | 'list' | 'mount' | 'unmount';

interface StoredVolume {
  /** The backend's own id, answered as the volume's ref: a volume made again under its name gets another. */
  readonly id: string;
  readonly options: Record<string, string>;
  readonly createdAt: Date;
  /** What containers wrote, by file name. */
  readonly files: Map<string, string>;
  /** Data Stowage did not create (placed by someone else): must never be deleted by Stowage. */
  readonly foreign: boolean;
}

/**
 * A storage backend whose whole state a test can see: which volumes exist, which are mounted on this node, what
 * was written into them. It outlives the providers (plugin processes) that serve it, as a cloud or a disk does.
 * Calls can be made to fail once, or to wait at a gate until the test opens it.
 */
export class FakeBackend {
  readonly volumes = new Map<string, StoredVolume>();
  readonly mounted = new Set<string>();
  readonly calls: BackendCall[] = [];
  private made = 0;
  private readonly failures = new Map<BackendCall, Error>();
  private readonly gates = new Map<
    BackendCall,
    { opened: Promise<void>; open: () => void; reached: () => void; wasReached: Promise<void> }
  >();

  /** The next `call` throws `error` (once). */
  failNext(call: BackendCall, error: Error = StowageError.backendFailure(`the backend failed a ${call}`)): void {
    this.failures.set(call, error);
  }

  /**
   * The next `call` waits until the returned `open` is called; `reached` resolves once the call is waiting there.
   */
  holdNext(call: BackendCall): { reached: Promise<void>; open: () => void } {
    let open = () => undefined as void;
    let reached = () => undefined as void;
    const opened = new Promise<void>((resolve) => (open = resolve));
    const wasReached = new Promise<void>((resolve) => (reached = resolve));
    this.gates.set(call, { opened, open, reached, wasReached });
    return { reached: wasReached, open };
  }

  /** A container writes `file` into a mounted volume. */
  write(name: string, file: string, content: string): void {
    if (!this.mounted.has(name)) throw new Error(`${name} is not mounted: a write would land on the root disk`);
    const volume = this.volumes.get(name);
    if (!volume) throw new Error(`${name} does not exist`);
    volume.files.set(file, content);
  }

  /** Data placed in the backend by someone other than Stowage, under `name`. */
  placeForeign(name: string, file: string, content: string): void {
    this.volumes.set(name, {
      id: this.newId(),
      options: {},
      createdAt: new Date(0),
      files: new Map([[file, content]]),
      foreign: true,
    });
  }

  newId(): string {
    this.made += 1;
    return `fake-${this.made}`;
  }

  async enter(call: BackendCall): Promise<void> {
    this.calls.push(call);
    const gate = this.gates.get(call);
    if (gate) {
      this.gates.delete(call);
      gate.reached();
      await gate.opened;
    }
    const failure = this.failures.get(call);
    if (failure) {
      this.failures.delete(call);
      throw failure;
    }
  }
}

/** A {@link StorageProvider} over a {@link FakeBackend}; a new one per plugin start, like a real driver. */
export class FakeBackendProvider implements StorageProvider {
  readonly name: string = 'fake';
  readonly scope: VolumeScope = 'global';
  readonly options: readonly OptionSpec[] = [
    { name: 'size', type: 'integer', description: 'size in GiB', min: 1, max: 100 },
  ];

  constructor(private readonly backend: FakeBackend) {}

  async create(request: CreateRequest): Promise<ProviderVolume> {
    await this.backend.enter('create');
    if (this.backend.volumes.has(request.name))
      throw StowageError.alreadyExists(`${request.name} exists in the backend`);
    const volume: StoredVolume = {
      id: this.backend.newId(),
      options: formatOptionValues(request.options),
      createdAt: new Date(),
      files: new Map(),
      foreign: false,
    };
    this.backend.volumes.set(request.name, volume);
    return providerVolume(request.name, volume);
  }

  async remove(handle: VolumeHandle): Promise<void> {
    const { name } = handle;
    await this.backend.enter('remove');
    const volume = this.stored(handle);
    if (!volume || volume.foreign) throw StowageError.notFound(`volume "${name}" not found`);
    if (this.backend.mounted.has(name)) throw StowageError.inUse(`volume "${name}" is mounted`);
    this.backend.volumes.delete(name);
  }

  async inspect(name: string): Promise<ProviderVolume | undefined> {
    await this.backend.enter('inspect');
    const volume = this.backend.volumes.get(name);
    return volume && !volume.foreign ? providerVolume(name, volume) : undefined;
  }

  async list(): Promise<ProviderVolume[]> {
    await this.backend.enter('list');
    return [...this.backend.volumes]
      .filter(([, volume]) => !volume.foreign)
      .map(([name, volume]) => providerVolume(name, volume));
  }

  async mount(handle: VolumeHandle): Promise<MountResult> {
    const { name } = handle;
    await this.backend.enter('mount');
    const volume = this.stored(handle);
    if (!volume || volume.foreign) throw StowageError.notFound(`volume "${name}" not found`);
    this.backend.mounted.add(name);
    return { path: `/fake/${name}` };
  }

  async unmount({ name }: VolumeHandle): Promise<void> {
    await this.backend.enter('unmount');
    this.backend.mounted.delete(name);
  }

  /**
   * The stored volume a handle stands for: by its ref when it has one, as a cloud acts on a volume id, so a ref of a
   * volume removed and made again under its name finds nothing; by name otherwise (records of older versions).
   */
  private stored({ name, ref }: VolumeHandle): StoredVolume | undefined {
    const volume = this.backend.volumes.get(name);
    return ref === undefined || volume?.id === ref ? volume : undefined;
  }
}

function providerVolume(name: string, volume: StoredVolume): ProviderVolume {
  return { name, options: volume.options, createdAt: volume.createdAt, ref: volume.id };
}
