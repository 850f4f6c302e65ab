import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CreateSnapshotCommand,
  CreateTagsCommand,
  CreateVolumeCommand,
  DeleteVolumeCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  StopInstancesCommand,
  type EC2Client,
  type Volume,
} from '@aws-sdk/client-ec2';
import { ErrorKind, StowageError, SystemHostOperations, parseOptions } from '@stowage/core';
import { describe, expect, it } from 'vitest';
import { CLUSTER_TAG, VOLUME_NAME_TAG, stackIdFor } from '../src/index.js';
import { MOVED_FROM_TAG, MOVE_ID_TAG, MOVE_TO_TAG } from '../src/move-tags.js';
import { SNAPSHOT_PURPOSE_TAG, SOURCE_VOLUME_TAG } from '../src/ebs-snapshots.js';
import { capturingLogger, type LogLine } from './support/capturing-logger.js';
import type { EbsTestNode } from '../src/testing/index.js';
import { useMotoFixture, type NodeExtras } from './support/moto-fixture.js';
import { expectStowageError as failure } from '@stowage/core/testing';
import { mountAsSwarmWould } from './support/swarm-retry.js';
import { signal } from './support/signal.js';

const ZONE_A = 'us-east-1a';
const ZONE_B = 'us-east-1b';
const ZONE_C = 'us-east-1c';
const CLUSTER = 'relocation-tests';
const host = new SystemHostOperations();

const fixture = useMotoFixture({ zone: ZONE_A, clusterId: CLUSTER });
const node = (zone: string, extra?: NodeExtras) => fixture.node(zone, CLUSTER, extra);
const send: EC2Client['send'] = (command: never) => fixture.client.send(command);

async function create(n: EbsTestNode, name: string, raw: Record<string, string> = {}): Promise<string> {
  const volume = await n.provider.create({
    name,
    options: parseOptions(n.provider.options, { size: '1', ...raw }, 'backing=ebs'),
  });
  return volume.status?.volumeId as string;
}

/** Every live volume of the cluster named `name`, straight from EC2. */
async function volumesNamed(name: string): Promise<Volume[]> {
  const { Volumes = [] } = await send(
    new DescribeVolumesCommand({
      Filters: [
        { Name: `tag:${CLUSTER_TAG}`, Values: [stackIdFor(CLUSTER)] },
        { Name: `tag:${VOLUME_NAME_TAG}`, Values: [name] },
      ],
    }),
  );
  return Volumes;
}

async function snapshotsOf(volumeId: string) {
  const { Snapshots = [] } = await send(
    new DescribeSnapshotsCommand({
      OwnerIds: ['self'],
      Filters: [{ Name: `tag:${SOURCE_VOLUME_TAG}`, Values: [volumeId] }],
    }),
  );
  return Snapshots;
}

function tagsOf(volume: Volume | undefined): Record<string, string | undefined> {
  return Object.fromEntries((volume?.Tags ?? []).map((t) => [t.Key, t.Value]));
}

/** Writes `text` on `n`'s mount of `name` and releases the volume there, as a task ending on that node does. */
async function writeAndRelease(n: EbsTestNode, name: string, text: string): Promise<void> {
  const { path } = await n.provider.mount({ name });
  await writeFile(join(path, 'data.txt'), text);
  await n.provider.unmount({ name });
}

/** The holder's node dies with the volume mounted: its file system is gone from the host, its attachment stays. */
async function holderStops(n: EbsTestNode, name: string, text: string): Promise<void> {
  const { path } = await n.provider.mount({ name });
  await writeFile(join(path, 'data.txt'), text);
  await host.unmount(path);
  await send(new StopInstancesCommand({ InstanceIds: [n.instanceId] }));
}

describe('relocation within a zone', () => {
  it('refuses while the holder runs, naming it; takes the volume once the holder is stopped, with its data', async () => {
    const a = await node(ZONE_A);
    const b = await node(ZONE_A);
    const volumeId = await create(a, 'follow');
    await a.provider.mount({ name: 'follow' });
    const refused = await failure(b.provider.mount({ name: 'follow' }), ErrorKind.InUse);
    expect(refused.message).toContain(`attached to instance ${a.instanceId} (running)`);
    expect(refused.message).toContain('takeover policy "stopped"');
    await a.provider.unmount({ name: 'follow' });

    await holderStops(a, 'follow', 'written before the holder stopped');
    const { path } = await b.provider.mount({ name: 'follow' });
    expect(await readFile(join(path, 'data.txt'), 'utf8')).toBe('written before the holder stopped');
    const [volume] = await volumesNamed('follow');
    expect(volume?.VolumeId).toBe(volumeId);
    expect(volume?.Attachments?.map((x) => x.InstanceId)).toEqual([b.instanceId]);
  });

  it('with takeover "never", a stopped holder still keeps the volume', async () => {
    const a = await node(ZONE_A);
    const b = await node(ZONE_A, { settings: { takeover: 'never' } });
    await create(a, 'pinned');
    await holderStops(a, 'pinned', 'x');
    const refused = await failure(b.provider.mount({ name: 'pinned' }), ErrorKind.InUse);
    expect(refused.message).toContain(a.instanceId);
    expect((await volumesNamed('pinned'))[0]?.Attachments?.[0]?.InstanceId).toBe(a.instanceId);
  });

  it('with takeover "force", a running holder loses the volume', async () => {
    const a = await node(ZONE_A);
    const b = await node(ZONE_A, { settings: { takeover: 'force' } });
    await create(a, 'forced');
    const { path: pathA } = await a.provider.mount({ name: 'forced' });
    await writeFile(join(pathA, 'data.txt'), 'flushed by a');
    await host.unmount(pathA);
    const { path } = await b.provider.mount({ name: 'forced' });
    expect(await readFile(join(path, 'data.txt'), 'utf8')).toBe('flushed by a');
    expect((await volumesNamed('forced'))[0]?.Attachments?.[0]?.InstanceId).toBe(b.instanceId);
  });
});

describe('relocation across zones', () => {
  it('moves by snapshot: one volume, in the new zone, with the data; the old volume and the transfer snapshot are gone', async () => {
    const a = await node(ZONE_A);
    const b = await node(ZONE_B);
    const oldId = await create(a, 'travels', { ebstype: 'gp3', iops: '3000', throughput: '125' });
    await writeAndRelease(a, 'travels', 'written in us-east-1a');

    const { path } = await mountAsSwarmWould(b.provider, 'travels');
    expect(await readFile(join(path, 'data.txt'), 'utf8')).toBe('written in us-east-1a');

    const after = await volumesNamed('travels');
    expect(after).toHaveLength(1);
    const [moved] = after;
    expect(moved).toMatchObject({ AvailabilityZone: ZONE_B, VolumeType: 'gp3', Iops: 3000, Throughput: 125, Size: 1 });
    expect(moved?.VolumeId).not.toBe(oldId);
    expect(moved?.Attachments?.[0]?.InstanceId).toBe(b.instanceId);
    const tags = tagsOf(moved);
    expect(tags).toMatchObject({
      [VOLUME_NAME_TAG]: 'travels',
      [CLUSTER_TAG]: stackIdFor(CLUSTER),
      'stowage:option:ebstype': 'gp3',
    });
    expect(tags[MOVED_FROM_TAG]).toBeUndefined();
    expect(tags[MOVE_TO_TAG]).toBeUndefined();
    const { Volumes: old = [] } = await send(
      new DescribeVolumesCommand({ Filters: [{ Name: 'volume-id', Values: [oldId] }] }),
    );
    expect(old).toEqual([]);
    expect(await snapshotsOf(oldId)).toEqual([]);
    console.log(
      `cross-zone move: "travels" ${oldId} in ${ZONE_A} -> ${moved?.VolumeId} in ${moved?.AvailabilityZone}, ` +
        `attached to ${b.instanceId}; volumes named "travels" now: ${after.length}; transfer snapshots left: 0; data read back on the new node`,
    );

    // And back: the copy moves like any volume, and a second format never happens.
    await b.provider.unmount({ name: 'travels' });
    const back = await mountAsSwarmWould(a.provider, 'travels');
    expect(await readFile(join(back.path, 'data.txt'), 'utf8')).toBe('written in us-east-1a');
    expect((await volumesNamed('travels')).map((v) => v.AvailabilityZone)).toEqual([ZONE_A]);
  });

  it('takes a volume from a stopped holder in another zone and moves it', async () => {
    const a = await node(ZONE_A);
    const b = await node(ZONE_B);
    await create(a, 'rescued');
    await holderStops(a, 'rescued', 'saved from a stopped node');
    const { path } = await mountAsSwarmWould(b.provider, 'rescued');
    expect(await readFile(join(path, 'data.txt'), 'utf8')).toBe('saved from a stopped node');
    expect((await volumesNamed('rescued')).map((v) => v.AvailabilityZone)).toEqual([ZONE_B]);
  });

  it('answers a Mount before its deadline while the move goes on; inspect and list do not wait; a Mount retried as swarm does finds it done', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const statusAsked = signal();
    const a = await node(ZONE_A);
    const b = await node(ZONE_B, {
      settings: { moveWaitSeconds: '1' },
      // Snapshots are instant in moto: hold back the snapshot's status, as a long snapshot in EC2 would.
      onClient: (client) =>
        client.middlewareStack.add(
          (next, context) => async (args) => {
            if (
              context.commandName === 'DescribeSnapshotsCommand' &&
              (args.input as { SnapshotIds?: string[] }).SnapshotIds
            ) {
              statusAsked.open();
              await held;
            }
            return next(args);
          },
          { step: 'initialize', name: 'holdSnapshotStatus' },
        ),
    });
    const oldId = await create(a, 'slow');
    await writeAndRelease(a, 'slow', 'worth the wait');

    // The first Mount starts the move and answers within its second, at whatever step the move is by then.
    const first = await failure(b.provider.mount({ name: 'slow' }), ErrorKind.BackendFailure);
    expect(first.message).toMatch(
      /^volume "slow" is moving from us-east-1a to us-east-1b: .*; retry shortly: the move goes on meanwhile$/,
    );
    // Once the move waits for its snapshot, which EC2 takes long to make here, a Mount says so, and joins the same move.
    await statusAsked.promise;
    const pending = await failure(b.provider.mount({ name: 'slow' }), ErrorKind.BackendFailure);
    expect(pending.message).toMatch(
      /^volume "slow" is moving from us-east-1a to us-east-1b: transfer snapshot snap-[0-9a-f]+ \d+% done; retry shortly/,
    );
    const inspected = await b.provider.inspect('slow');
    expect(inspected?.status).toMatchObject({ volumeId: oldId, availabilityZone: ZONE_A });
    expect(String(inspected?.status?.move)).toMatch(/^moving from us-east-1a to us-east-1b: transfer snapshot snap-/);
    expect((await a.provider.list()).map((v) => v.name)).toEqual(['slow']);
    expect((await a.provider.inspect('slow'))?.status?.move).toBe('moving to us-east-1b');
    expect(await snapshotsOf(oldId)).toHaveLength(1);

    release();
    const { path } = await mountAsSwarmWould(b.provider, 'slow');
    expect(await readFile(join(path, 'data.txt'), 'utf8')).toBe('worth the wait');
    expect((await volumesNamed('slow')).map((v) => v.AvailabilityZone)).toEqual([ZONE_B]);
    expect((await b.provider.inspect('slow'))?.status?.move).toBeUndefined();
  });

  it('resumes a move stopped after its snapshot: the same snapshot is used, no second one is taken', async () => {
    const a = await node(ZONE_A);
    const b = await node(ZONE_B);
    const oldId = await create(a, 'resumed');
    await writeAndRelease(a, 'resumed', 'before the crash');
    // What a node that died mid-move leaves: the claim on the volume and the transfer snapshot.
    const [source] = await volumesNamed('resumed');
    await send(
      new CreateTagsCommand({ Resources: [oldId], Tags: [{ Key: MOVE_TO_TAG, Value: `${ZONE_B}/dead0001` }] }),
    );
    const { SnapshotId } = await send(
      new CreateSnapshotCommand({
        VolumeId: oldId,
        TagSpecifications: [
          {
            ResourceType: 'snapshot',
            Tags: [
              ...(source?.Tags ?? []).filter((t) => t.Key === CLUSTER_TAG || t.Key === VOLUME_NAME_TAG),
              { Key: SOURCE_VOLUME_TAG, Value: oldId },
              { Key: SNAPSHOT_PURPOSE_TAG, Value: 'move' },
              { Key: MOVE_ID_TAG, Value: 'dead0001' },
            ],
          },
        ],
      }),
    );

    const { path } = await mountAsSwarmWould(b.provider, 'resumed');
    expect(await readFile(join(path, 'data.txt'), 'utf8')).toBe('before the crash');
    const [moved, ...others] = await volumesNamed('resumed');
    expect(others).toEqual([]);
    expect(moved?.SnapshotId).toBe(SnapshotId);
    expect(await snapshotsOf(oldId)).toEqual([]);
  });

  it('finishes a move stopped after the old volume was deleted: the copy answers, its move tag and snapshot go', async () => {
    const a = await node(ZONE_A);
    const b = await node(ZONE_B);
    const oldId = await create(a, 'finished');
    await writeAndRelease(a, 'finished', 'made it');
    const [source] = await volumesNamed('finished');
    const { SnapshotId } = await send(
      new CreateSnapshotCommand({
        VolumeId: oldId,
        TagSpecifications: [
          {
            ResourceType: 'snapshot',
            Tags: [
              { Key: SOURCE_VOLUME_TAG, Value: oldId },
              { Key: SNAPSHOT_PURPOSE_TAG, Value: 'move' },
              { Key: VOLUME_NAME_TAG, Value: 'finished' },
              { Key: CLUSTER_TAG, Value: stackIdFor(CLUSTER) },
            ],
          },
        ],
      }),
    );
    const copy = await send(
      new CreateVolumeCommand({
        AvailabilityZone: ZONE_B,
        SnapshotId,
        TagSpecifications: [
          {
            ResourceType: 'volume',
            Tags: [...(source?.Tags ?? []), { Key: MOVED_FROM_TAG, Value: `${oldId}/dead0002` }],
          },
        ],
      }),
    );
    // While the source exists, the copy does not answer for the name.
    expect((await a.provider.inspect('finished'))?.status?.volumeId).toBe(oldId);
    expect(await a.provider.list()).toHaveLength(1);
    await send(new DeleteVolumeCommand({ VolumeId: oldId }));
    expect((await a.provider.inspect('finished'))?.status?.volumeId).toBe(copy.VolumeId);

    const { path } = await b.provider.mount({ name: 'finished' });
    expect(await readFile(join(path, 'data.txt'), 'utf8')).toBe('made it');
    const [moved] = await volumesNamed('finished');
    expect(moved?.VolumeId).toBe(copy.VolumeId);
    expect(tagsOf(moved)[MOVED_FROM_TAG]).toBeUndefined();
    expect(await snapshotsOf(oldId)).toEqual([]);
  });

  it("a node in the volume's own zone takes it back from an abandoned move, mounts it in place, and deletes what the move left", async () => {
    const a = await node(ZONE_A);
    const volumeId = await create(a, 'stays');
    await writeAndRelease(a, 'stays', 'never moved');
    // What a mover in us-east-1b that died after making its copy leaves: the claim, the transfer snapshot, the copy.
    const [source] = await volumesNamed('stays');
    await send(
      new CreateTagsCommand({ Resources: [volumeId], Tags: [{ Key: MOVE_TO_TAG, Value: `${ZONE_B}/dead0003` }] }),
    );
    const { SnapshotId } = await send(
      new CreateSnapshotCommand({
        VolumeId: volumeId,
        TagSpecifications: [
          {
            ResourceType: 'snapshot',
            Tags: [
              { Key: SOURCE_VOLUME_TAG, Value: volumeId },
              { Key: SNAPSHOT_PURPOSE_TAG, Value: 'move' },
              { Key: MOVE_ID_TAG, Value: 'dead0003' },
              { Key: VOLUME_NAME_TAG, Value: 'stays' },
              { Key: CLUSTER_TAG, Value: stackIdFor(CLUSTER) },
            ],
          },
        ],
      }),
    );
    await send(
      new CreateVolumeCommand({
        AvailabilityZone: ZONE_B,
        SnapshotId,
        TagSpecifications: [
          {
            ResourceType: 'volume',
            Tags: [...(source?.Tags ?? []), { Key: MOVED_FROM_TAG, Value: `${volumeId}/dead0003` }],
          },
        ],
      }),
    );
    expect(await volumesNamed('stays')).toHaveLength(2);

    const { path } = await a.provider.mount({ name: 'stays' });
    expect(await readFile(join(path, 'data.txt'), 'utf8')).toBe('never moved');
    const left = await volumesNamed('stays');
    expect(left.map((v) => v.VolumeId)).toEqual([volumeId]);
    expect(tagsOf(left[0])[MOVE_TO_TAG]).toBeUndefined();
    expect(await snapshotsOf(volumeId)).toEqual([]);
  });

  it('periodic snapshots keep the last N; remove deletes the volume and every snapshot Stowage took of it', async () => {
    const a = await node(ZONE_A);
    const b = await node(ZONE_B, { settings: { snapshotRetain: '2' } });
    const oldId = await create(a, 'gone');
    await writeAndRelease(a, 'gone', 'x');
    await mountAsSwarmWould(b.provider, 'gone');
    const [moved] = await volumesNamed('gone');
    const movedId = moved?.VolumeId as string;
    const passes = [];
    for (let pass = 0; pass < 3; pass++) passes.push(await b.provider.snapshotAttachedVolumes());
    expect(passes.map((p) => [p.snapshotted.length, p.failed])).toEqual([
      [1, []],
      [1, []],
      [1, []],
    ]);
    expect(passes[2]?.pruned).toHaveLength(1);
    const kept = await snapshotsOf(movedId);
    // moto's snapshot times are whole seconds, so which of three taken within one second is oldest is not defined here.
    expect(kept).toHaveLength(2);
    expect(kept.map((snap) => snap.SnapshotId)).not.toContain(passes[2]?.pruned[0]);
    expect(kept.every((snap) => snap.Tags?.some((t) => t.Key === SNAPSHOT_PURPOSE_TAG && t.Value === 'periodic'))).toBe(
      true,
    );

    await b.provider.unmount({ name: 'gone' });
    await a.provider.remove({ name: 'gone' });
    expect(await volumesNamed('gone')).toEqual([]);
    expect(await snapshotsOf(movedId)).toEqual([]);
    expect(await snapshotsOf(oldId)).toEqual([]);
  });
});

type Hook = (command: string, input: Record<string, unknown>, phase: 'before' | 'after') => Promise<void> | void;

/** Settings for a node whose EC2 calls pass `hook` before they are sent and after they are answered. */
function hooked(hook: Hook): NodeExtras['onClient'] {
  return (client) =>
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as Record<string, unknown>;
        await hook(context.commandName as string, input, 'before');
        const result = await next(args);
        await hook(context.commandName as string, input, 'after');
        return result;
      },
      { step: 'initialize', name: 'testHook' },
    );
}

/**
 * How the move a Mount started on a node ended: the Mount's own error, or, when the Mount answered first that the
 * move goes on, the error the move failed with in the background (its log line), as the task's retry would meet it.
 */
async function moveOutcome(
  mount: Promise<unknown>,
  next: (match: (line: LogLine) => boolean) => Promise<LogLine>,
): Promise<string> {
  const error = await mount.then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  if (error === undefined) return 'mounted';
  if (StowageError.is(error, ErrorKind.BackendFailure) && /is moving .*retry shortly/.test(error.message)) {
    return String((await next((l) => l.msg === 'volume move failed; the next mount retries it')).err);
  }
  return `${(error as StowageError).kind}: ${error.message}`;
}

describe('two moves of one volume, and a node taking it back, racing', () => {
  it("a second zone that claims and snapshots the source while a move deletes it gets nothing: one volume remains, with the first mover's writes", async () => {
    const a = await node(ZONE_A);
    const sourceId = await create(a, 'raced');
    await writeAndRelease(a, 'raced', 'written in a');
    const bAtDelete = signal();
    const cSnapshotted = signal();
    const bDeleted = signal();
    const cCopied = signal();
    const bDone = signal();
    let sourceDeleted = false;
    const b = await node(ZONE_B, {
      onClient: hooked(async (command, input, phase) => {
        if (command === 'DeleteVolumeCommand' && input.VolumeId === sourceId) {
          if (phase === 'before') {
            // b has read the claim (its own) for the last time: c claims and snapshots the source now.
            bAtDelete.open();
            await cSnapshotted.promise;
          } else {
            sourceDeleted = true;
            bDeleted.open();
          }
        } else if (sourceDeleted && phase === 'before') {
          // And c makes its copy from its snapshot before b goes on to finish its move.
          await cCopied.promise;
        }
      }),
    });
    const log = capturingLogger();
    let copied = false;
    const c = await node(ZONE_C, {
      logger: log.logger,
      onClient: hooked(async (command, _input, phase) => {
        if (command === 'CreateSnapshotCommand' && phase === 'after') cSnapshotted.open();
        // c makes its copy once b deleted the source, and goes on once b's task wrote to the moved volume and ended.
        if (command === 'CreateVolumeCommand' && phase === 'before') await bDeleted.promise;
        if (command === 'CreateVolumeCommand' && phase === 'after') {
          copied = true;
          cCopied.open();
        } else if (copied && phase === 'before') await bDone.promise;
      }),
    });

    const bMount = mountAsSwarmWould(b.provider, 'raced');
    await bAtDelete.promise;
    const cOutcome = moveOutcome(c.provider.mount({ name: 'raced' }), log.next);
    const { path } = await bMount;
    expect(await readFile(join(path, 'data.txt'), 'utf8')).toBe('written in a');
    await writeFile(join(path, 'data.txt'), 'written in b');
    await b.provider.unmount({ name: 'raced' });
    bDone.open();

    expect(await cOutcome).toMatch(
      /volume "raced" was moved to (us-east-1b|another zone) by another node meanwhile; retry the mount/,
    );
    const left = await volumesNamed('raced');
    expect(left.map((v) => v.AvailabilityZone)).toEqual([ZONE_B]);
    expect(tagsOf(left[0])[MOVED_FROM_TAG]).toBeUndefined();
    expect(await snapshotsOf(sourceId)).toEqual([]);
    const again = await b.provider.mount({ name: 'raced' });
    expect(await readFile(join(again.path, 'data.txt'), 'utf8')).toBe('written in b');
  });

  it("a node of the volume's zone that attaches it after another zone claimed it drops the claim: the move gives up, the writes stay", async () => {
    const a = await node(ZONE_A);
    const sourceId = await create(a, 'contested');
    await writeAndRelease(a, 'contested', 'before the race');
    const aAtAttach = signal();
    const bCopied = signal();
    const aDone = signal();
    // a read the volume (no claim yet) and attaches it only once b has claimed it and made its copy.
    const a2 = await node(ZONE_A, {
      onClient: hooked(async (command, _input, phase) => {
        if (command === 'AttachVolumeCommand' && phase === 'before') {
          aAtAttach.open();
          await bCopied.promise;
        }
      }),
    });
    const log = capturingLogger();
    let copied = false;
    const b = await node(ZONE_B, {
      logger: log.logger,
      onClient: hooked(async (command, _input, phase) => {
        if (command === 'CreateVolumeCommand' && phase === 'after') {
          copied = true;
          bCopied.open();
        } else if (copied && phase === 'before') await aDone.promise;
      }),
    });

    const aMount = a2.provider.mount({ name: 'contested' });
    await aAtAttach.promise;
    const bOutcome = moveOutcome(b.provider.mount({ name: 'contested' }), log.next);
    const { path } = await aMount;
    await writeFile(join(path, 'data.txt'), 'written while b moved it');
    await a2.provider.unmount({ name: 'contested' });
    aDone.open();

    expect(await bOutcome).toMatch(/volume "contested" was taken back from its move to us-east-1b/);
    const left = await volumesNamed('contested');
    expect(left.map((v) => v.VolumeId)).toEqual([sourceId]);
    expect(tagsOf(left[0])[MOVE_TO_TAG]).toBeUndefined();
    const again = await a.provider.mount({ name: 'contested' });
    expect(await readFile(join(again.path, 'data.txt'), 'utf8')).toBe('written while b moved it');
  });
});
