import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { EfsNodes } from './efs-nodes.js';
import type { MotoCloud } from '@stowage/testkit/moto';
import { scratch, startMotoEfs } from './moto-efs.js';

/** What a test file of the shared backing works with: one moto server, and per test a scratch directory and nodes. */
export interface EfsTestWorld {
  readonly world: MotoCloud;
  readonly dir: Awaited<ReturnType<typeof scratch>>;
  readonly nodes: EfsNodes;
}

/**
 * Registers the hooks of a test file: moto for the file, reset before each test, which gets a scratch directory (the
 * NFS stand-in's exports, the nodes' mount roots) and stops its nodes and unmounts everything after. Read the
 * fields inside tests: they change per test.
 */
export function useEfsTestWorld(): EfsTestWorld {
  const state = {} as { -readonly [K in keyof EfsTestWorld]: EfsTestWorld[K] };
  beforeAll(async () => {
    state.world = await startMotoEfs();
  });
  afterAll(async () => {
    await state.world?.stop();
  });
  beforeEach(async () => {
    await state.world.reset();
    state.dir = await scratch();
    state.nodes = new EfsNodes(state.dir);
  });
  afterEach(async () => {
    await state.nodes.stopAll();
    await state.dir.cleanup();
  });
  return state;
}
