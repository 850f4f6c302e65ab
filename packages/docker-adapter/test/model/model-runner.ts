import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@stowage/core';
import * as fc from 'fast-check';
import { expect } from 'vitest';
import { FakeDockerApi } from '../support/fake-docker-api.js';
import { checkEveryByte, commandArbitraries, PluginModel } from './plugin-model.js';
import { PluginWorld, type ModelBackend } from './plugin-world.js';

// One seed for the file, printed, so a failing run is replayed with STOWAGE_MODEL_SEED=<seed>.
const SEED =
  process.env.STOWAGE_MODEL_SEED !== undefined ? Number(process.env.STOWAGE_MODEL_SEED) : Date.now() % 2 ** 31;
const logger = createLogger({ level: process.env.STOWAGE_MODEL_LOG === 'debug' ? 'debug' : 'silent' });

/** Data someone else put beside Stowage's volumes: no step may ever delete it. */
export interface Foreign {
  intact(): Promise<boolean>;
}

export interface ModelRunOptions {
  readonly label: string;
  readonly runs: number;
  readonly maxCommands: number;
  /** Makes the backend of one sequence in `dir`, with foreign data beside it. */
  readonly backend: (dir: string) => Promise<{ backend: ModelBackend; foreign: Foreign }>;
}

export async function runModel(run: ModelRunOptions): Promise<void> {
  const stats = new Map<string, number>();
  let sequences = 0;
  let starts = 0;
  let changesCut = 0;
  const crashes = new Map<string, number>();
  await fc.assert(
    fc.asyncProperty(
      fc.commands(commandArbitraries({ faults: true }), { maxCommands: run.maxCommands, size: 'max' }),
      async (commands) => {
        const dir = await mkdtemp(join(tmpdir(), 'stowage-model-'));
        const { backend, foreign } = await run.backend(dir);
        const docker = await FakeDockerApi.start(join(dir, 'docker.sock'));
        const world = new PluginWorld(dir, backend, docker, logger);
        try {
          await world.start();
          const model = new PluginModel();
          const real = { world, docker, stats };
          await fc.asyncModelRun(() => ({ model, real }), commands);
          await checkEveryByte(model, real);
          expect(await foreign.intact(), 'data Stowage did not create').toBe(true);
        } finally {
          await world.close();
          await docker.stop();
          await backend.close();
          await rm(dir, { recursive: true, force: true });
          sequences += 1;
          starts += world.starts;
          changesCut += world.changesCut;
          for (const [point, n] of world.crashes) crashes.set(point, (crashes.get(point) ?? 0) + n);
        }
      },
    ),
    { numRuns: run.runs, seed: SEED, endOnFailure: process.env.STOWAGE_MODEL_SHRINK === undefined },
  );
  const steps = [...stats.values()].reduce((a, b) => a + b, 0);
  const kills = [...crashes.values()].reduce((a, b) => a + b, 0);
  console.log(
    `model (${run.label}): seed ${SEED} (replay with STOWAGE_MODEL_SEED=${SEED}), ${sequences} sequences, ${steps} steps, ` +
      `${starts} plugin starts, ${kills} kills at ${crashes.size} failpoints, ` +
      `${changesCut} unsynced mount-table changes taken by power cuts\n  steps: ` +
      [...stats]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([what, n]) => `${what} ${n}`)
        .join(', '),
  );
}
