import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateVolumeCommand, DescribeSnapshotsCommand, type Volume } from '@aws-sdk/client-ec2';
import { createLogger, parseOptions } from '@stowage/core';
import { describe, expect, it } from 'vitest';
import { stackIdFor } from '../src/index.js';
import { EbsSnapshots, SNAPSHOT_PURPOSE_TAG } from '../src/ebs-snapshots.js';
import { SnapshotSchedule } from '../src/snapshot-schedule.js';
import { volumeTags } from '../src/cluster-tags.js';
import { EbsVolumes } from '../src/ebs-volumes.js';
import type { EbsTestNode } from '../src/testing/index.js';
import { useMotoFixture } from './support/moto-fixture.js';

const run = promisify(execFile);
const CLUSTER = 'snapshot-tests';
const STACK = stackIdFor(CLUSTER);
const logger = createLogger({ level: 'silent' });

const fixture = useMotoFixture({ zone: 'us-east-1a', clusterId: CLUSTER });

/** The cluster's volumes attached to `node`, as the provider will hand them to the schedule. */
function attachedTo(node: EbsTestNode): () => Promise<Volume[]> {
  const volumes = new EbsVolumes(fixture.client, CLUSTER, STACK, logger);
  return () => volumes.listAll([{ Name: 'attachment.instance-id', Values: [node.instanceId] }]);
}

/** moto stamps snapshots to the whole second (EC2 to the millisecond): passes a second apart keep "newest" defined. */
async function nextSecond(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 10));
}

async function tagsOf(snapshotId: string): Promise<Record<string, string>> {
  const { Snapshots } = await fixture.client.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] }));
  return Object.fromEntries((Snapshots?.[0]?.Tags ?? []).map((t) => [t.Key, t.Value]));
}

describe('EBS snapshots against moto, with bytes on loop devices', () => {
  it('snapshots an attached volume, keeps the newest two, restores its file in another zone, and deletes them all', async () => {
    const a = await fixture.node('us-east-1a');
    const created = await a.provider.create({
      name: 'journal',
      options: parseOptions(a.provider.options, { size: '1' }, 'backing=ebs'),
    });
    const volumeId = created.status?.volumeId as string;
    const { path } = await a.provider.mount({ name: 'journal' });
    await writeFile(join(path, 'entry.txt'), 'written before the snapshot');
    // A snapshot holds what reached the disk, on EBS as here: flush the file system's cache first.
    await run('sync', ['-f', path]);

    const snapshots = new EbsSnapshots(fixture.client, STACK, logger, {
      minDelayMs: 50,
      maxDelayMs: 200,
      completeSeconds: 60,
    });
    const schedule = new SnapshotSchedule(
      snapshots,
      { intervalMinutes: 0, retain: 2, attachedHere: attachedTo(a) },
      logger,
    );

    const first = await schedule.runOnce();
    expect(first).toMatchObject({ pruned: [], failed: [] });
    expect(first.snapshotted).toHaveLength(1);
    const firstId = first.snapshotted[0] as string;
    expect(await tagsOf(firstId)).toMatchObject({
      StackID: STACK,
      'stowage:volume': 'journal',
      'stowage:source-volume': volumeId,
      'stowage:snapshot': 'periodic',
    });

    const [attached] = await attachedTo(a)();
    await nextSecond();
    const move = await snapshots.create(attached as Volume, 'move');
    const later = [];
    for (let pass = 0; pass < 3; pass++) {
      await nextSecond();
      later.push(...(await schedule.runOnce()).snapshotted);
    }
    const periodic = await snapshots.forVolume('journal', { purpose: 'periodic' });
    expect(periodic.map((s) => s.SnapshotId)).toEqual([later[2], later[1]]);
    expect((await snapshots.forVolume('journal', { purpose: 'move' })).map((s) => s.SnapshotId)).toEqual([
      move.SnapshotId,
    ]);

    // A volume made from the newest snapshot in another zone: its file comes back only if the snapshot carried bytes.
    const source = later[2] as string;
    await a.udev.snapshots.sync();
    expect(await a.udev.snapshots.hasImage(source)).toBe(true);
    const b = await fixture.node('us-east-1b');
    await fixture.client.send(
      new CreateVolumeCommand({
        AvailabilityZone: 'us-east-1b',
        SnapshotId: source,
        Size: 1,
        VolumeType: 'standard',
        TagSpecifications: [{ ResourceType: 'volume', Tags: volumeTags('journal-copy', STACK, { size: '1' }) }],
      }),
    );
    const copy = await b.provider.mount({ name: 'journal-copy' });
    expect(await readFile(join(copy.path, 'entry.txt'), 'utf8')).toBe('written before the snapshot');

    expect(await snapshots.deleteAllFor('journal')).toBe(3);
    expect(await snapshots.forVolume('journal')).toEqual([]);
    const { Snapshots = [] } = await fixture.client.send(
      new DescribeSnapshotsCommand({
        Filters: [{ Name: `tag:${SNAPSHOT_PURPOSE_TAG}`, Values: ['periodic', 'move'] }],
      }),
    );
    expect(Snapshots).toEqual([]);
  });
});
