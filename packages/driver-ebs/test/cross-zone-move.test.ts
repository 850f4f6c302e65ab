import type { Volume } from '@aws-sdk/client-ec2';
import { ErrorKind, StowageError } from '@stowage/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tagValue } from '../src/cluster-tags.js';
import {
  MOVE_COMMIT_TAG,
  MOVE_FENCE_TAG,
  MOVED_FROM_TAG,
  MOVE_TO_TAG,
  answeringVolumes,
  moveClaimOf,
  movedFromOf,
} from '../src/move-tags.js';
import { expectStowageError as failure } from '@stowage/core/testing';
import { Crash, FakeEbsWorld, type Operation } from './support/fake-ebs-world.js';
import { signal } from './support/signal.js';

const NAME = 'db';
const ZONE = { a: 'us-east-1a', b: 'us-east-1b', c: 'us-east-1c' } as const;
/** The nodes of the tests: `a` in the volume's own zone, `b` and `b2` in another, `c` in a third. */
type Node = 'a' | 'b' | 'b2' | 'c';
const zoneOf = (node: Node): string => ZONE[node === 'b2' ? 'b' : node];
const idle = new AbortController().signal;

/**
 * What a task starting on `node` does with volume NAME, as EbsProvider.mount and unmount do it (without engine,
 * devices or file systems): find the answering volume, finish a move stopped before its end, move it here from another
 * zone or take it back from a move, attach it, drop a claim made meanwhile (read again after the attach), sweep what
 * abandoned moves left; then the task writes `data` (acknowledged) and ends, releasing the volume.
 */
async function runTask(world: FakeEbsWorld, node: Node, data: string): Promise<void> {
  const volumes = world.volumesFor(node);
  const mover = world.moverFor(node);
  const named = await volumes.findAll(NAME);
  const [found] = answeringVolumes(named);
  if (found === undefined) throw new Error(`no volume answers for "${NAME}"`);
  let leftovers =
    moveClaimOf(found) !== undefined || named.some((v) => movedFromOf(v)?.sourceVolumeId === found.VolumeId);
  let volume = found;
  if (movedFromOf(volume)) volume = await mover.finish(NAME, volume);
  const holder = volume.Attachments?.find((a) => a.State !== 'detached')?.InstanceId;
  if (holder !== undefined && holder !== node) throw StowageError.inUse(`"${NAME}" is attached to ${holder}`);
  if (volume.AvailabilityZone !== zoneOf(node))
    volume = await mover.move(NAME, volume, zoneOf(node), () => undefined, idle);
  else if (moveClaimOf(volume)) volume = await mover.abandon(NAME, volume);
  leftovers &&= volume.VolumeId === found.VolumeId;
  const volumeId = volume.VolumeId as string;
  if (holder !== node) await world.attach(node, volumeId);
  const attached = (await volumes.describeIfExists(volumeId)) as Volume;
  if (moveClaimOf(attached)) {
    volume = await mover.abandon(NAME, attached);
    leftovers = true;
  }
  if (leftovers) await mover.sweepAbandoned(NAME, volume).catch((error: unknown) => rethrowCrash(error));
  await world.write(node, volumeId, data);
  await world.detach(node, volumeId);
}

function rethrowCrash(error: unknown): void {
  if (error instanceof Crash) throw error;
}

/** A world with volume NAME in zone a, and a check after every step that exactly one volume answers for it. */
function worldWithVolume(): { world: FakeEbsWorld; source: string; violations: string[] } {
  const world = new FakeEbsWorld();
  const source = world.addVolume(NAME, ZONE.a, 'written in a').VolumeId as string;
  const violations: string[] = [];
  world.afterStep = () => {
    const answering = world.answering(NAME).length;
    if (answering !== 1) violations.push(`${answering} volumes answer after "${world.steps.at(-1)}"`);
  };
  return { world, source, violations };
}

describe('CrossZoneMove against two movers and a node taking the volume back', () => {
  it("a second zone that claims and snapshots the source between a move's last read and its delete gets nothing: one volume answers, with every write", async () => {
    const { world, source, violations } = worldWithVolume();
    const bAtDelete = signal();
    const cSnapshotted = signal();
    const bDeleted = signal();
    const bDone = signal();
    let cCopied = false;
    world.gate = async ({ actor, op, target }: Operation) => {
      // b has read the claim (its own) for the last time and is about to delete the source; c claims and snapshots it.
      if (actor === 'b' && op === 'DeleteVolume' && target === source) {
        bAtDelete.open();
        await cSnapshotted.promise;
      }
      // c makes its copy from its snapshot once b has deleted the source...
      if (actor === 'c' && op === 'CreateVolume') await bDeleted.promise;
      // ... and goes on only once b's task has the moved volume, has written to it and has ended.
      if (actor === 'c' && cCopied) await bDone.promise;
    };
    const afterStep = world.afterStep;
    world.afterStep = () => {
      afterStep();
      const last = world.steps.at(-1);
      if (last === `c CreateSnapshot ${source}`) cSnapshotted.open();
      if (last === `b DeleteVolume ${source}`) bDeleted.open();
      if (last?.startsWith('c CreateVolume')) cCopied = true;
    };

    const b = runTask(world, 'b', 'written in b');
    await bAtDelete.promise;
    const c = runTask(world, 'c', 'written in c');
    await b;
    bDone.open();
    const refused = await failure(c, ErrorKind.InUse);
    expect(refused.message).toMatch(
      /volume "db" was moved to (us-east-1b|another zone) by another node meanwhile; retry the mount/,
    );

    expect(violations).toEqual([]);
    const [answering, ...others] = world.answering(NAME);
    expect(others).toEqual([]);
    expect(answering).toMatchObject({ AvailabilityZone: ZONE.b, data: 'written in b' });
    expect(movedFromOf(answering as Volume)).toBeUndefined();
    // Nothing of c's move is left: its copy and the transfer snapshots went.
    expect([...world.volumes.keys()]).toEqual([answering?.VolumeId]);
    expect(world.snapshots.size).toBe(0);
  });

  it('a move stalled between its last read and its delete while another moved the volume all the way: the later claim wins, the stalled move yields', async () => {
    const { world, source, violations } = worldWithVolume();
    const bAtDelete = signal();
    const cDone = signal();
    world.gate = async ({ actor, op, target }) => {
      if (actor === 'b' && op === 'DeleteVolume' && target === source) {
        bAtDelete.open();
        await cDone.promise;
      }
    };
    const b = runTask(world, 'b', 'written in b');
    await bAtDelete.promise;
    await runTask(world, 'c', 'written in c');
    cDone.open();
    const refused = await failure(b, ErrorKind.InUse);
    expect(refused.message).toMatch(/was moved to (us-east-1c|another zone) by another node meanwhile/);
    expect(violations).toEqual([]);
    expect(world.answering(NAME)).toMatchObject([{ AvailabilityZone: ZONE.c, data: 'written in c' }]);
    expect(world.volumes.size).toBe(1);
  });

  it("a node of the source's zone that attaches it after a move's claim drops the claim, so the move deletes its copy and the writes stay", async () => {
    const { world, source, violations } = worldWithVolume();
    const bCopied = signal();
    const aDone = signal();
    world.gate = async ({ actor, op }) => {
      // a reads the volume before b claims it, and attaches it once b has made its copy.
      if (actor === 'a' && op === 'AttachVolume') await bCopied.promise;
      if (actor === 'b' && op === 'DescribeVolume' && world.steps.some((s) => s.startsWith('b CreateVolume')))
        await aDone.promise;
    };
    const afterStep = world.afterStep;
    world.afterStep = () => {
      afterStep();
      if (world.steps.at(-1)?.startsWith('b CreateVolume')) bCopied.open();
    };
    const a = runTask(world, 'a', 'written in a');
    const b = runTask(world, 'b', 'written in b');
    await a;
    aDone.open();
    await failure(b, ErrorKind.InUse);
    expect(violations).toEqual([]);
    expect(world.answering(NAME)).toMatchObject([{ VolumeId: source, AvailabilityZone: ZONE.a, data: 'written in a' }]);
    expect(world.volumes.size).toBe(1);
    expect(moveClaimOf(world.volumes.get(source) as Volume)).toBeUndefined();
  });

  it('keeps exactly one volume answering, and the last acknowledged write, whatever the interleaving of movers, a node taking it back and crashes', async () => {
    const seed = Number(process.env.STOWAGE_MOVE_SEED ?? Date.now() % 2 ** 31);
    let runs = 0;
    let steps = 0;
    let impossible = 0;
    const nodes = fc.subarray<Node>(['a', 'b', 'b2', 'c'], { minLength: 2 });
    const crashes = fc.record({
      a: fc.option(fc.integer({ min: 1, max: 20 }), { nil: undefined }),
      b: fc.option(fc.integer({ min: 1, max: 30 }), { nil: undefined }),
      b2: fc.option(fc.integer({ min: 1, max: 30 }), { nil: undefined }),
      c: fc.option(fc.integer({ min: 1, max: 30 }), { nil: undefined }),
    });
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), nodes, crashes, async (scheduler, starting, crashAt) => {
        const { world, violations } = worldWithVolume();
        const taken = new Map<string, number>();
        world.gate = async ({ actor, op, target }) => {
          await scheduler.schedule(Promise.resolve(), `${actor} ${op} ${target}`);
          const n = (taken.get(actor) ?? 0) + 1;
          taken.set(actor, n);
          if (n === crashAt[actor as Node]) throw new Crash(`${actor} crashed before its step ${n}`);
        };
        await scheduler.waitFor(Promise.allSettled(starting.map((node) => runTask(world, node, `written in ${node}`))));

        // Every node starts its task again, one at a time, as swarm retries a task: crashed moves are resumed.
        world.gate = async () => undefined;
        for (const node of starting) await runTask(world, node, `written again in ${node}`).catch(() => undefined);

        runs++;
        steps += world.steps.length;
        if (world.impossible !== undefined) impossible++;
        fc.pre(world.impossible === undefined);
        expect(violations).toEqual([]);
        const answering = world.answering(NAME);
        expect(answering).toHaveLength(1);
        expect(answering[0]?.data).toBe(world.lastAcknowledged);
        // What finished moves leave: no transfer snapshot of a source that is gone.
        const live = new Set(world.volumes.keys());
        expect(
          [...world.snapshots.values()].filter((s) => !live.has(tagValue(s.Tags, 'stowage:source-volume') ?? '')),
        ).toEqual([]);
      }),
      { seed, numRuns: Number(process.env.STOWAGE_MOVE_RUNS ?? 400) },
    );
    console.log(
      `cross-zone move interleavings: ${runs} runs, ${steps} steps, ${impossible} set aside as physically impossible; seed ${seed} (STOWAGE_MOVE_SEED)`,
    );
  }, 120_000);
});

describe('CrossZoneMove steps', () => {
  it('claims a free volume with a new move id and the next fence, and joins a claim to the same zone', async () => {
    const world = new FakeEbsWorld();
    const source = world.addVolume(NAME, ZONE.a, 'x', { [MOVE_FENCE_TAG]: '4' });
    const claims: Array<string | undefined> = [];
    world.afterStep = () => {
      if (world.steps.at(-1) === `b CreateTags ${source.VolumeId}`) {
        const tags = world.volumes.get(source.VolumeId as string)?.Tags;
        claims.push(`${tagValue(tags, MOVE_TO_TAG)} fence ${tagValue(tags, MOVE_FENCE_TAG)}`);
      }
    };
    const moved = await world.moverFor('b').move(NAME, source, ZONE.b, () => undefined, idle);
    expect(claims[0]).toMatch(/^us-east-1b\/[0-9a-f]{8} fence 5$/);
    expect(tagValue(moved.Tags, MOVED_FROM_TAG)).toBeUndefined();

    const claimed = world.addVolume('other', ZONE.a, 'y', {
      [MOVE_TO_TAG]: `${ZONE.b}/keep0001`,
      [MOVE_FENCE_TAG]: '7',
    });
    const joiner = world.moverFor('b2');
    const stepsBefore = world.steps.length;
    await joiner.move('other', claimed, ZONE.b, () => undefined, idle);
    const later = world.steps.slice(stepsBefore);
    // Joined: no claim of its own; the copy was made under the claim's move id and fence.
    expect(later.filter((s) => s === `b2 CreateTags ${claimed.VolumeId}`)).toEqual([]);
    expect(world.answering('other')).toMatchObject([{ AvailabilityZone: ZONE.b, data: 'y' }]);
  });

  it('refuses to go on from a claim on a volume that a node attached meanwhile', async () => {
    const world = new FakeEbsWorld();
    const source = world.addVolume(NAME, ZONE.a, 'x');
    world.gate = async ({ actor, op }) => {
      if (actor === 'b' && op === 'CreateTags')
        await world.attach('a', source.VolumeId as string).catch(() => undefined);
    };
    const refused = await failure(
      world.moverFor('b').move(NAME, source, ZONE.b, () => undefined, idle),
      ErrorKind.InUse,
    );
    expect(refused.message).toMatch(/was attached to instance a while its move to us-east-1b began/);
    expect(world.snapshots.size).toBe(0);
  });

  it('keeps the source and deletes its own copy when the claim changed meanwhile (another zone claimed it)', async () => {
    const world = new FakeEbsWorld();
    const source = world.addVolume(NAME, ZONE.a, 'x', { [MOVE_TO_TAG]: `${ZONE.b}/mine0001`, [MOVE_FENCE_TAG]: '1' });
    world.gate = async ({ actor, op }) => {
      if (actor === 'b' && op === 'CreateVolume') {
        const volume = world.volumes.get(source.VolumeId as string) as Volume;
        volume.Tags = volume.Tags?.map((t) =>
          t.Key === MOVE_TO_TAG
            ? { ...t, Value: `${ZONE.c}/other002` }
            : t.Key === MOVE_FENCE_TAG
              ? { ...t, Value: '2' }
              : t,
        );
      }
    };
    const error = await failure(
      world.moverFor('b').move(NAME, source, ZONE.b, () => undefined, idle),
      ErrorKind.InUse,
    );
    expect(error.message).toMatch(/taken back from its move to us-east-1b \(another node is moving it to us-east-1c\)/);
    expect([...world.volumes.keys()]).toEqual([source.VolumeId]);
  });

  it('deletes copies of earlier moves of the source before retiring it, then finishes: tags cleared, snapshots gone', async () => {
    const world = new FakeEbsWorld();
    const source = world.addVolume(NAME, ZONE.a, 'x', { [MOVE_TO_TAG]: `${ZONE.b}/mine0001`, [MOVE_FENCE_TAG]: '3' });
    const stale = world.addVolume(NAME, ZONE.c, 'old', {
      [MOVED_FROM_TAG]: `${source.VolumeId}/old00001/2`,
      [MOVE_COMMIT_TAG]: 'old00001',
    });
    const moved = await world.moverFor('b').move(NAME, source, ZONE.b, () => undefined, idle);
    expect(world.steps.filter((s) => s.includes('DeleteVolume'))).toEqual([
      `b DeleteVolume ${stale.VolumeId}`,
      `b DeleteVolume ${source.VolumeId}`,
    ]);
    expect(movedFromOf(moved)).toBeUndefined();
    expect([...world.volumes.values()]).toMatchObject([
      { VolumeId: moved.VolumeId, AvailabilityZone: ZONE.b, data: 'x' },
    ]);
    for (const key of [MOVED_FROM_TAG, MOVE_COMMIT_TAG, MOVE_TO_TAG, MOVE_FENCE_TAG])
      expect(tagValue(world.volumes.get(moved.VolumeId as string)?.Tags, key)).toBeUndefined();
    expect(world.snapshots.size).toBe(0);
  });

  it('abandon removes the claim and nothing else; the fence stays', async () => {
    const world = new FakeEbsWorld();
    const claimed = world.addVolume(NAME, ZONE.a, 'x', { [MOVE_TO_TAG]: `${ZONE.b}/x0000001`, [MOVE_FENCE_TAG]: '5' });
    const back = await world.moverFor('a').abandon(NAME, claimed);
    expect(moveClaimOf(back)).toBeUndefined();
    expect(world.steps).toEqual([`a DeleteTags ${claimed.VolumeId}`]);
    expect(tagValue(world.volumes.get(claimed.VolumeId as string)?.Tags, MOVE_FENCE_TAG)).toBe('5');
  });
});

describe('which copy answers once its source is gone', () => {
  const copy = (id: string, tags: Record<string, string>, second = 0): Volume => ({
    VolumeId: id,
    CreateTime: new Date(Date.UTC(2026, 0, 1, 0, 0, second)),
    Tags: Object.entries({ 'stowage:volume': NAME, ...tags }).map(([Key, Value]) => ({ Key, Value })),
  });

  it('the committed copy of the highest fence; never an uncommitted one; none while the source exists', () => {
    const source = copy('vol-s', {});
    const early = copy('vol-1', { [MOVED_FROM_TAG]: 'vol-s/m1/1', [MOVE_COMMIT_TAG]: 'm1' }, 1);
    const later = copy('vol-2', { [MOVED_FROM_TAG]: 'vol-s/m2/2', [MOVE_COMMIT_TAG]: 'm2' }, 2);
    const uncommitted = copy('vol-3', { [MOVED_FROM_TAG]: 'vol-s/m3/3' }, 3);
    expect(answeringVolumes([source, early, later, uncommitted]).map((v) => v.VolumeId)).toEqual(['vol-s']);
    expect(answeringVolumes([early, later, uncommitted]).map((v) => v.VolumeId)).toEqual(['vol-2']);
    expect(answeringVolumes([early, uncommitted]).map((v) => v.VolumeId)).toEqual(['vol-1']);
    expect(answeringVolumes([uncommitted])).toEqual([]);
    // A commit naming another move does not count.
    expect(answeringVolumes([copy('vol-4', { [MOVED_FROM_TAG]: 'vol-s/m4/4', [MOVE_COMMIT_TAG]: 'm1' })])).toEqual([]);
  });

  it('a copy made before fences existed (moved-from with two parts) still answers once its source is gone, below any fenced one', () => {
    const legacy = copy('vol-old', { [MOVED_FROM_TAG]: 'vol-s/m0' });
    expect(movedFromOf(legacy)).toEqual({ sourceVolumeId: 'vol-s', moveId: 'm0', fence: -1, committed: true });
    expect(answeringVolumes([legacy]).map((v) => v.VolumeId)).toEqual(['vol-old']);
    const fenced = copy('vol-new', { [MOVED_FROM_TAG]: 'vol-s/m1/1', [MOVE_COMMIT_TAG]: 'm1' }, 5);
    expect(answeringVolumes([legacy, fenced]).map((v) => v.VolumeId)).toEqual(['vol-new']);
  });

  it('ignores malformed move tags', () => {
    expect(movedFromOf(copy('v', { [MOVED_FROM_TAG]: 'vol-s/m1/x' }))).toBeUndefined();
    expect(movedFromOf(copy('v', { [MOVED_FROM_TAG]: 'vol-s/m1/1/extra' }))).toBeUndefined();
    expect(moveClaimOf(copy('v', { [MOVE_TO_TAG]: 'garbage' }))).toBeUndefined();
    expect(moveClaimOf(copy('v', { [MOVE_TO_TAG]: 'us-east-1b/m1', [MOVE_FENCE_TAG]: '-3' }))).toEqual({
      zone: 'us-east-1b',
      moveId: 'm1',
      fence: 0,
    });
  });
});
