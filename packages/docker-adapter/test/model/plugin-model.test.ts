import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@stowage/core';
import { LocalProvider } from '@stowage/driver-local';
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FakeBackend, FakeBackendProvider } from '../support/fake-backend.js';
import { FakeDockerApi } from '../support/fake-docker-api.js';
import { commandArbitraries, PluginModel } from './plugin-model.js';
import { PluginWorld, type ModelBackend } from './plugin-world.js';

// One seed for the file, printed, so a failing run is replayed with STOWAGE_MODEL_SEED=<seed>.
const SEED = process.env.STOWAGE_MODEL_SEED !== undefined ? Number(process.env.STOWAGE_MODEL_SEED) : Date.now() % 2 ** 31;
const logger = createLogger({ level: process.env.STOWAGE_MODEL_LOG === 'debug' ? 'debug' : 'silent' });

/** Data someone else put beside Stowage's volumes: no step may ever delete it. */
interface Foreign {
  intact(): Promise<boolean>;
}

interface Run {
  readonly label: string;
  readonly runs: number;
  readonly maxCommands: number;
  /** Makes the backend of one sequence in `dir`, with foreign data beside it. */
  readonly backend: (dir: string) => Promise<{ backend: ModelBackend; foreign: Foreign }>;
}

async function runModel(run: Run): Promise<void> {
  const stats = new Map<string, number>();
  let sequences = 0;
  let starts = 0;
  const crashes = new Map<string, number>();
  await fc.assert(
    fc.asyncProperty(fc.commands(commandArbitraries({ faults: true }), { maxCommands: run.maxCommands, size: 'max' }), async (commands) => {
      const dir = await mkdtemp(join(tmpdir(), 'stowage-model-'));
      const { backend, foreign } = await run.backend(dir);
      const docker = await FakeDockerApi.start(join(dir, 'docker.sock'));
      const world = new PluginWorld(dir, backend, docker, logger);
      try {
        await world.start();
        await fc.asyncModelRun(() => ({ model: new PluginModel(), real: { world, docker, stats } }), commands);
        expect(await foreign.intact(), 'data Stowage did not create').toBe(true);
      } finally {
        await world.close();
        await docker.stop();
        await backend.close();
        await rm(dir, { recursive: true, force: true });
        sequences += 1;
        starts += world.starts;
        for (const [point, n] of world.crashes) crashes.set(point, (crashes.get(point) ?? 0) + n);
      }
    }),
    { numRuns: run.runs, seed: SEED, endOnFailure: process.env.STOWAGE_MODEL_SHRINK === undefined },
  );
  const steps = [...stats.values()].reduce((a, b) => a + b, 0);
  const kills = [...crashes.values()].reduce((a, b) => a + b, 0);
  console.log(
    `model (${run.label}): seed ${SEED} (replay with STOWAGE_MODEL_SEED=${SEED}), ${sequences} sequences, ${steps} steps, ` +
      `${starts} plugin starts, ${kills} kills at ${crashes.size} failpoints\n  steps: ` +
      [...stats].sort(([a], [b]) => a.localeCompare(b)).map(([what, n]) => `${what} ${n}`).join(', '),
  );
}

async function fakeBackend(): Promise<{ backend: ModelBackend; foreign: Foreign }> {
  const store = new FakeBackend();
  store.placeForeign('not-ours', 'ledger', 'someone else\'s data');
  const backend: ModelBackend = {
    label: 'fake backend',
    options: [{ size: '1' }, { size: '2' }],
    providers: async () => [new FakeBackendProvider(store)],
    exists: async (name) => store.volumes.has(name),
    mounted: async (name, mountpoint) => store.mounted.has(name) && mountpoint === `/fake/${name}`,
    write: async (name, _mountpoint, file, content) => store.write(name, file, content),
    read: async (name, _mountpoint, file) => store.volumes.get(name)?.files.get(file),
    reboot: async () => store.mounted.clear(),
    close: async () => undefined,
  };
  return { backend, foreign: { intact: async () => store.volumes.get('not-ours')?.files.get('ledger') === 'someone else\'s data' } };
}

async function localBackend(dir: string): Promise<{ backend: ModelBackend; foreign: Foreign }> {
  const root = join(dir, 'volumes');
  const foreignFile = join(root, 'not-a-volume', 'ledger');
  await mkdir(join(root, 'not-a-volume'), { recursive: true });
  await writeFile(foreignFile, 'someone else\'s data');
  const dataDir = (name: string) => join(root, name, '_data');
  const backend: ModelBackend = {
    label: 'local driver',
    options: [{ mode: '0755' }, { mode: '0700' }],
    providers: async (log) => [new LocalProvider({ root }, log)],
    exists: async (name) => existsSync(join(root, name, 'volume.json')),
    // A local volume is its data directory: usable whenever it is there.
    mounted: async (name, mountpoint) => mountpoint === dataDir(name) && existsSync(mountpoint),
    write: (_name, mountpoint, file, content) => writeFile(join(mountpoint, file), content),
    read: (name, _mountpoint, file) => readFile(join(dataDir(name), file), 'utf8').catch(() => undefined),
    reboot: async () => undefined,
    close: async () => undefined,
  };
  return { backend, foreign: { intact: async () => (await readFile(foreignFile, 'utf8').catch(() => '')) === 'someone else\'s data' } };
}

describe('the plugin against a model of what Docker and its containers may rely on', () => {
  it('holds on a backend whose state is seen whole, through restarts, kills at every step, faults and callers that give up', async () => {
    await runModel({ label: 'fake backend', runs: Number(process.env.STOWAGE_MODEL_RUNS ?? 150), maxCommands: 40, backend: fakeBackend });
  }, 600_000);

  it('holds on the local driver, on real directories', async () => {
    await runModel({ label: 'local driver', runs: Number(process.env.STOWAGE_MODEL_LOCAL_RUNS ?? 40), maxCommands: 30, backend: localBackend });
  }, 600_000);
});
