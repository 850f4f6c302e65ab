import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { formatOptionValues, parseOptions } from '../engine/option-parser.js';
import { VolumeEngine } from '../engine/volume-engine.js';
import type { Volume } from '../engine/volume.js';
import type { MountEntry } from '../host/host-operations.js';
import { SystemHostOperations } from '../host/system-host-operations.js';
import { createLogger } from '../logging/create-logger.js';
import type { ConformanceSetup } from './conformance-setup.js';
import { CountingProvider } from './counting-provider.js';

/** One test's world: the driver's setup, a counting view of its provider, and a started engine around it. */
export class ConformanceHarness {
  /** Per-test prefix: a backend shared between tests (one moto server) never sees two tests use one name. */
  readonly prefix = `conf${randomBytes(3).toString('hex')}`;
  private readonly used = new Set<string>();

  private constructor(
    readonly setup: ConformanceSetup,
    /** The engine's view of the driver's provider. */
    readonly provider: CountingProvider,
    private readonly stateDir: string,
    /** Replaced by {@link restart}. */
    public engine: VolumeEngine,
  ) {}

  static async start(makeSetup: () => Promise<ConformanceSetup>): Promise<ConformanceHarness> {
    const setup = await makeSetup();
    let stateDir: string | undefined;
    try {
      stateDir = await mkdtemp(join(tmpdir(), 'stowage-conformance-'));
      const provider = new CountingProvider(setup.provider);
      const engine = await startEngine(provider, stateDir);
      return new ConformanceHarness(setup, provider, stateDir, engine);
    } catch (error) {
      if (stateDir) await rm(stateDir, { recursive: true, force: true });
      await setup.teardown?.();
      throw error;
    }
  }

  /** A volume name unique to this test, cleaned up after it. */
  name(suffix: string): string {
    return this.track(`${this.prefix}-${suffix}`);
  }

  /** Records a name built by hand (an edge-length name) for clean-up. */
  track(name: string): string {
    this.used.add(name);
    return name;
  }

  /** Create options for this backing, with `backing` set to the provider under test. */
  options(extra?: Record<string, string>): Record<string, string> {
    return { backing: this.provider.name, ...(extra ?? this.setup.createOptions ?? {}) };
  }

  /** Whether the provider declares that its data does not outlive Unmount. */
  get ephemeral(): boolean {
    return this.provider.capabilities?.ephemeral === true;
  }

  /** Whether the provider declares that a Mount serves a volume where it is, mounting nothing. */
  get mountsInPlace(): boolean {
    return this.provider.capabilities?.mountsInPlace === true;
  }

  /**
   * What belies a claim to mount the existing volume `name` in place, one sentence each (none when it holds): the
   * Mount must answer the path inspect answers, make no mount at or below it, and the Unmount leave none; data
   * written there stays, unless the provider is ephemeral. Mounts and unmounts it through the engine.
   */
  async inPlaceProblems(name: string): Promise<string[]> {
    const problems: string[] = [];
    const own = (await this.provider.inner.inspect(name))?.path;
    if (own === undefined) return ['inspect answers no path: a volume mounted in place is served where it is'];
    const before = await mountsAt(own);
    const path = await this.engine.mount(name, 'in-place-probe');
    if (path !== own) problems.push(`the Mount answered ${path}, not the path inspect answered, ${own}`);
    if (!isDeepStrictEqual(await mountsAt(own), before)) problems.push(`the Mount made a mount at or below ${own}`);
    await writeFile(join(path, IN_PLACE_PROBE), 'in place');
    await this.engine.unmount(name, 'in-place-probe');
    if (!isDeepStrictEqual(await mountsAt(own), before)) problems.push(`the Unmount left a mount at or below ${own}`);
    const kept = await readFile(join(own, IN_PLACE_PROBE), 'utf8').catch(() => undefined);
    if (!this.ephemeral && kept !== 'in place') problems.push(`data written through the Mount is not in ${own}`);
    return problems;
  }

  /** What a volume created with `options` records: parsed as the engine parses them, defaults applied. */
  parsedOptions(options: Record<string, string> | undefined): Record<string, string> {
    return formatOptionValues(parseOptions(this.provider.options, options ?? {}, `backing=${this.provider.name}`));
  }

  /** How many Mount calls the engine holds for `name` (0 when it does not know the volume). */
  async holds(name: string): Promise<unknown> {
    const volume: Volume | undefined = await this.engine.get(name);
    return volume?.status.mounts ?? 0;
  }

  /** Stops the engine and starts a new one on the same state directory and provider, as a plugin restart does. */
  async restart(): Promise<void> {
    await this.engine.stop();
    this.engine = await startEngine(this.provider, this.stateDir);
  }

  /** Releases and deletes what the test left (straight through the provider), then undoes the setup. */
  async close(): Promise<void> {
    try {
      for (const name of this.used) {
        await this.provider.inner.unmount({ name }).catch(() => undefined);
        await this.provider.inner.remove({ name }).catch(() => undefined);
      }
      await this.engine.stop();
    } finally {
      await rm(this.stateDir, { recursive: true, force: true });
      await this.setup.teardown?.();
    }
  }
}

// Silent: the suite's failures speak through assertions, not logs.
const SILENT = createLogger({ level: 'silent' });
const HOST = new SystemHostOperations({ logger: SILENT });
const IN_PLACE_PROBE = 'stowage-in-place.txt';

/** The host's mounts at or below `path`, as the kernel lists them. */
function mountsAt(path: string): Promise<MountEntry[]> {
  return HOST.listMounts(path);
}

async function startEngine(provider: CountingProvider, stateDir: string): Promise<VolumeEngine> {
  const engine = new VolumeEngine([provider], HOST, SILENT, { stateDir });
  await engine.start();
  return engine;
}
