import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineOptions, type InferOptions } from '../src/contract/define-options.js';
import type {
  CreateRequest,
  MountResult,
  ProviderVolume,
  StorageProvider,
  VolumeHandle,
} from '../src/contract/storage-provider.js';
import { formatOptionValues } from '../src/engine/option-parser.js';
import { StowageError } from '../src/errors/stowage-error.js';
import { runConformanceSuite } from '../src/testing/conformance-suite.js';
import type { ConformanceSetup } from '../src/testing/conformance-setup.js';

const SCRATCH_OPTIONS = defineOptions({
  size: { type: 'integer', description: 'size in MiB', default: 16, min: 1 },
  mode: {
    type: 'string',
    description: 'octal mode',
    default: '0755',
    pattern: /[0-7]{3,4}/,
    patternHint: 'an octal mode',
    normalize: (m) => m.padStart(4, '0'),
  },
});

/**
 * A tmpfs-like backing without root: a volume's directory is made empty at Mount and deleted at Unmount, so its
 * data does not outlive Unmount, which it declares. The suite must pass it by adapting, not by being failed once.
 */
class ScratchProvider implements StorageProvider<InferOptions<typeof SCRATCH_OPTIONS>> {
  readonly name = 'scratch';
  readonly scope = 'local';
  readonly options = SCRATCH_OPTIONS;
  readonly capabilities = { ephemeral: true };
  private readonly volumes = new Map<string, ProviderVolume>();

  constructor(private readonly root: string) {}

  async create({ name, options }: CreateRequest<InferOptions<typeof SCRATCH_OPTIONS>>): Promise<ProviderVolume> {
    const volume = { name, createdAt: new Date(), options: formatOptionValues(options) };
    this.volumes.set(name, volume);
    return volume;
  }
  async remove({ name }: VolumeHandle): Promise<void> {
    if (!this.volumes.delete(name)) throw StowageError.notFound(`volume "${name}" not found`);
  }
  async inspect(name: string): Promise<ProviderVolume | undefined> {
    return this.volumes.get(name);
  }
  async list(): Promise<ProviderVolume[]> {
    return [...this.volumes.values()];
  }
  async mount({ name }: VolumeHandle): Promise<MountResult> {
    if (!this.volumes.has(name)) throw StowageError.notFound(`volume "${name}" not found`);
    const path = join(this.root, name);
    await mkdir(path, { recursive: true });
    return { path };
  }
  async unmount({ name }: VolumeHandle): Promise<void> {
    await rm(join(this.root, name), { recursive: true, force: true });
  }
}

// createOptions leaves out both defaulted options and spells mode short: the kit compares parsed options, so neither
// matters, and an author need not guess which the volume records.
runConformanceSuite('scratch (ephemeral)', async (): Promise<ConformanceSetup> => {
  const dir = await mkdtemp(join(tmpdir(), 'stowage-scratch-conformance-'));
  return {
    provider: new ScratchProvider(dir),
    createOptions: { mode: '750' },
    otherCreateOptions: { size: '32' },
    invalidOptions: [{ options: { size: '0' }, error: /size: must be at least 1, got 0/ }],
    teardown: () => rm(dir, { recursive: true, force: true }),
  };
});
