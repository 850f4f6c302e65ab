import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ErrorKind,
  StowageError,
  SystemHostOperations,
  VolumeEngine,
  VolumeEvents,
  createLogger,
  type VolumeEngine as Engine,
  type VolumeEvent,
} from '@stowage/core';
import { describe, expect, it } from 'vitest';
import type { EbsTestNode } from '../src/testing/index.js';
import { useMotoFixture } from './support/moto-fixture.js';

const ZONE_A = 'us-east-1a';
const ZONE_B = 'us-east-1b';
const CLUSTER = 'event-tests';
const host = new SystemHostOperations();
const logger = createLogger({ level: 'silent' });

const fixture = useMotoFixture({ zone: ZONE_A, clusterId: CLUSTER });

/** An engine over `n`'s provider, reporting to `events`; stopped after the test. */
async function engineOf(n: EbsTestNode, events?: VolumeEvents): Promise<Engine> {
  const engine = new VolumeEngine([n.provider], host, logger, { stateDir: join(n.dir, 'engine') }, events);
  await engine.start();
  fixture.defer(() => engine.stop());
  return engine;
}

/** Mounts as a swarm task does: a Mount that asks to be retried shortly (a move outlasted its wait) is sent again. */
async function mountAsSwarmWould(engine: Engine, name: string, caller: string): Promise<string> {
  for (;;) {
    try {
      return await engine.mount(name, caller);
    } catch (error) {
      if (!(StowageError.is(error, ErrorKind.BackendFailure) && /retry shortly/.test(error.message))) throw error;
    }
  }
}

describe('the events of a node of the relocatable backing, on moto', () => {
  it('a Mount in another zone reports the move started, its progress and its end, then the mount; a periodic snapshot reports itself taken', async () => {
    const a = await fixture.node(ZONE_A);
    const hub = new VolumeEvents({ logger });
    const seen: VolumeEvent[] = [];
    hub.subscribe((event) => seen.push(event));
    const b = await fixture.node(ZONE_B, CLUSTER, { events: hub });
    const engineA = await engineOf(a);
    const engineB = await engineOf(b, hub);

    await engineA.create('travels', { backing: 'ebs', size: '1' });
    await writeFile(join(await engineA.mount('travels', 'task-a'), 'data.txt'), 'written in us-east-1a');
    await engineA.unmount('travels', 'task-a');

    const path = await mountAsSwarmWould(engineB, 'travels', 'task-b');
    expect(await readFile(join(path, 'data.txt'), 'utf8')).toBe('written in us-east-1a');

    const route = { volume: 'travels', backing: 'ebs', from: ZONE_A, to: ZONE_B };
    const types = seen.map((e) => e.type);
    // Each retried Mount joined the one move: started once, ended once, and the mount once it is here.
    expect(types[0]).toBe('move.started');
    expect(types.filter((t) => t === 'move.started')).toHaveLength(1);
    expect(types.slice(-2)).toEqual(['move.done', 'volume.mounted']);
    const progress = seen.filter((e) => e.type === 'move.progress');
    expect(progress.length).toBeGreaterThanOrEqual(1);
    expect(types.slice(1, 1 + progress.length).every((t) => t === 'move.progress')).toBe(true);
    expect(seen[0]).toMatchObject({ type: 'move.started', ...route });
    for (const event of progress) {
      expect(event).toMatchObject({ ...route, phase: expect.stringMatching(/^(snapshot|volume|cleanup)$/) });
      expect(event.percent).toBeGreaterThanOrEqual(0);
      expect(event.percent).toBeLessThanOrEqual(100);
    }
    // No two progress events alike in a row: an unchanged poll reports nothing.
    const steps = progress.map((e) => `${e.phase} ${e.percent}`);
    expect(steps.filter((step, i) => step === steps[i - 1])).toEqual([]);
    expect(seen.at(-2)).toMatchObject({ type: 'move.done', ...route, seconds: expect.any(Number) });
    expect(seen.at(-1)).toMatchObject({
      type: 'volume.mounted',
      volume: 'travels',
      backing: 'ebs',
      caller: 'task-b',
      mountpoint: path,
      callers: 1,
      holds: 1,
    });
    expect(seen.map((e) => e.seq)).toEqual(seen.map((_, i) => i + 1));

    const before = Date.now();
    const summary = await b.provider.snapshotAttachedVolumes();
    expect(summary.failed).toEqual([]);
    const taken = seen.filter((e) => e.type === 'snapshot.taken');
    expect(taken).toEqual([
      expect.objectContaining({
        volume: 'travels',
        backing: 'ebs',
        purpose: 'periodic',
        snapshotId: summary.snapshotted[0],
      }),
    ]);
    // moto stamps snapshots to the whole second.
    expect(Date.parse(taken[0]?.takenAt as string)).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);

    await engineB.unmount('travels', 'task-b');
    expect(seen.at(-1)).toMatchObject({ type: 'volume.unmounted', volume: 'travels' });
  });
});
