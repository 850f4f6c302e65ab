import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CreateSnapshotCommand,
  CreateTagsCommand,
  CreateVolumeCommand,
  DescribeVolumesCommand,
  type EC2Client,
  type Volume,
} from '@aws-sdk/client-ec2';
import { startCountingProxy } from '@stowage/testkit/moto';
import { ErrorKind, StowageError, parseOptions, type CreateRequest } from '@stowage/core';
import { describe, expect, it } from 'vitest';
import { CLUSTER_TAG, OPTION_TAG_PREFIX, stackIdFor, type EbsOptions } from '../src/index.js';
import type { EbsTestNode } from '../src/testing/index.js';
import { expectStowageError as failure } from '@stowage/core/testing';
import { useMotoFixture } from './support/moto-fixture.js';

const ZONE = 'us-east-1a';
const CLUSTER = 'arn:aws:cloudformation:us-east-1:123456789012:stack/swarm/provider-tests';

const fixture = useMotoFixture({ zone: ZONE, clusterId: CLUSTER });
const node = (zone?: string, clusterId?: string) => fixture.node(zone, clusterId);
const send: EC2Client['send'] = (command: never) => fixture.client.send(command);

function request(n: EbsTestNode, name: string, raw: Record<string, string>): CreateRequest<EbsOptions> {
  const options = parseOptions(n.provider.options, raw, 'backing=ebs');
  n.provider.validate({ name, options });
  return { name, options };
}

async function describeCluster(clusterId = CLUSTER) {
  const result = await send(
    new DescribeVolumesCommand({ Filters: [{ Name: `tag:${CLUSTER_TAG}`, Values: [stackIdFor(clusterId)] }] }),
  );
  return result.Volumes ?? [];
}

describe('create, inspect, list, remove against EC2 (moto)', () => {
  it('creates a tagged volume of the requested type that any node lists and inspects, until removed', async () => {
    const a = await node();
    const b = await node();
    const created = await a.provider.create(
      request(a, 'db1', { size: '20', ebstype: 'gp3', iops: '4000', throughput: '250', encrypted: 'true' }),
    );
    expect(created).toMatchObject({
      name: 'db1',
      options: { size: '20', ebstype: 'gp3', iops: '4000', throughput: '250', encrypted: 'true', fstype: 'ext4' },
      status: { availabilityZone: ZONE, state: 'available', sizeGiB: 20, type: 'gp3' },
    });

    const [volume, ...others] = await describeCluster();
    expect(others).toEqual([]);
    expect(volume).toMatchObject({
      Size: 20,
      VolumeType: 'gp3',
      Iops: 4000,
      Throughput: 250,
      Encrypted: true,
      AvailabilityZone: ZONE,
    });
    const tags = Object.fromEntries((volume?.Tags ?? []).map((t) => [t.Key, t.Value]));
    expect(tags).toMatchObject({
      'stowage:volume': 'db1',
      Name: 'db1',
      StackID: stackIdFor(CLUSTER),
      'stowage:option:size': '20',
      'stowage:option:ebstype': 'gp3',
      'stowage:option:iops': '4000',
    });
    expect(stackIdFor(CLUSTER)).toMatch(/^[0-9a-f]{32}$/);

    expect(await b.provider.inspect('db1')).toMatchObject({ name: 'db1', options: created.options });
    expect((await b.provider.list()).map((v) => v.name)).toEqual(['db1']);
    await b.provider.remove({ name: 'db1' });
    expect(await a.provider.inspect('db1')).toBeUndefined();
    expect(await describeCluster()).toEqual([]);
    await expect(a.provider.remove({ name: 'db1' })).rejects.toMatchObject({ kind: ErrorKind.NotFound });
  });

  it('creates io1 with its IOPS and the default standard type when none is given', async () => {
    const a = await node();
    await a.provider.create(request(a, 'fast', { size: '10', ebstype: 'io1', iops: '500' }));
    await a.provider.create(request(a, 'plain', { size: '1' }));
    const byName = Object.fromEntries(
      (await describeCluster()).map((v) => [v.Tags?.find((t) => t.Key === 'Name')?.Value, v]),
    );
    expect(byName.fast).toMatchObject({ VolumeType: 'io1', Iops: 500, Size: 10 });
    expect(byName.plain).toMatchObject({ VolumeType: 'standard', Size: 1, Encrypted: false });
  });

  it('creates a volume from an existing snapshot', async () => {
    const a = await node();
    const source = await send(new CreateVolumeCommand({ Size: 3, AvailabilityZone: ZONE }));
    const snapshot = await send(new CreateSnapshotCommand({ VolumeId: source.VolumeId }));
    const created = await a.provider.create(
      request(a, 'restored', { size: '3', snapshot: snapshot.SnapshotId as string }),
    );
    expect(created.options).toMatchObject({ snapshot: snapshot.SnapshotId });
    expect((await describeCluster())[0]).toMatchObject({ SnapshotId: snapshot.SnapshotId, Size: 3 });
  });

  it('sees only its own cluster: another clusterId lists nothing', async () => {
    const a = await node();
    const other = await node(ZONE, 'another-cluster');
    await a.provider.create(request(a, 'mine', { size: '1' }));
    expect(await other.provider.list()).toEqual([]);
    expect(await other.provider.inspect('mine')).toBeUndefined();
  });

  it('gives a fresh volume id to a name removed and created again', async () => {
    const a = await node();
    const first = await a.provider.create(request(a, 'again', { size: '1' }));
    await a.provider.remove({ name: 'again' });
    const second = await a.provider.create(request(a, 'again', { size: '1' }));
    expect(second.status?.volumeId).not.toBe(first.status?.volumeId);
    expect(await describeCluster()).toHaveLength(1);
  });

  it('ends with one volume when two nodes create one name at once', async () => {
    const a = await node();
    const b = await node();
    const [va, vb] = await Promise.all([
      a.provider.create(request(a, 'raced', { size: '1' })),
      b.provider.create(request(b, 'raced', { size: '1' })),
    ]);
    expect(va.status?.volumeId).toBe(vb.status?.volumeId);
    const volumes = await describeCluster();
    expect(volumes.filter((v) => v.State !== 'deleting').map((v) => v.VolumeId)).toEqual([va.status?.volumeId]);
  });

  it('shows a name once in list even if a lost race left a duplicate, and remove deletes both', async () => {
    const a = await node();
    const created = await a.provider.create(request(a, 'dup', { size: '1' }));
    // A duplicate as a crashed creator would leave it: same tags, made later.
    const tags = (await describeCluster())[0]?.Tags;
    await send(
      new CreateVolumeCommand({
        Size: 1,
        AvailabilityZone: ZONE,
        TagSpecifications: [{ ResourceType: 'volume', Tags: tags }],
      }),
    );
    expect((await a.provider.list()).map((v) => v.name)).toEqual(['dup']);
    // The oldest answers for the name, the volume id breaking a tie (EC2 times have whole seconds), on every call.
    const kept = (await a.provider.list())[0]?.status?.volumeId;
    expect(kept).toBe((await a.provider.inspect('dup'))?.status?.volumeId);
    expect(created.status?.volumeId).toMatch(/^vol-/);
    await a.provider.remove({ name: 'dup' });
    expect(await describeCluster()).toEqual([]);
  });

  it('lists more than 500 volumes from another node', async () => {
    const a = await node();
    const b = await node();
    const stackId = stackIdFor(CLUSTER);
    const total = 520;
    for (let start = 0; start < total; start += 40) {
      await Promise.all(
        Array.from({ length: Math.min(40, total - start) }, (_, i) =>
          send(
            new CreateVolumeCommand({
              Size: 1,
              AvailabilityZone: ZONE,
              TagSpecifications: [
                {
                  ResourceType: 'volume',
                  Tags: [
                    { Key: 'stowage:volume', Value: `bulk-${start + i}` },
                    { Key: 'StackID', Value: stackId },
                  ],
                },
              ],
            }),
          ),
        ),
      );
    }
    const listed = await b.provider.list();
    expect(listed).toHaveLength(total);
    expect(new Set(listed.map((v) => v.name)).size).toBe(total);
    expect(await a.provider.inspect('bulk-519')).toBeDefined();
  });

  it('refuses to remove a volume attached to a node, naming the instance', async () => {
    const a = await node();
    const b = await node();
    await a.provider.create(request(a, 'held', { size: '1' }));
    await a.provider.mount({ name: 'held' });
    const error = await b.provider.remove({ name: 'held' }).catch((e: unknown) => e);
    expect(StowageError.is(error, ErrorKind.InUse)).toBe(true);
    expect((error as Error).message).toContain(a.instanceId);
    await a.provider.unmount({ name: 'held' });
    await b.provider.remove({ name: 'held' });
  });
});

describe('create after remove, with EC2 remembering create tokens (the ClientToken stand-in in front of moto)', () => {
  it('remove then create of one name gives a fresh volume at once, though EC2 answers the first token with the removed volume', async () => {
    const proxy = await startCountingProxy(fixture.moto.endpoint);
    fixture.defer(() => proxy.stop());
    const a = await fixture.node(ZONE, CLUSTER, { ec2Endpoint: proxy.endpoint });
    const first = await a.provider.create(request(a, 'again', { size: '1' }));
    await a.provider.remove({ name: 'again' });

    proxy.reset();
    const second = await a.provider.create(request(a, 'again', { size: '1' }));
    expect(second.status).toMatchObject({ state: 'available', sizeGiB: 1 });
    expect(second.status?.volumeId).not.toBe(first.status?.volumeId);
    expect((await describeCluster()).map((v) => v.VolumeId)).toEqual([second.status?.volumeId]);
    // The name's first token still answers with the removed volume, which this node deleted: the next token makes the
    // new volume at once. Nothing is waited for: one look at the new volume and one at the name.
    const calls = proxy.counts();
    expect(calls['ec2:CreateVolume']).toBe(2);
    expect(calls['ec2:DescribeVolumes']).toBeLessThanOrEqual(2);
  });

  it('gives a fresh volume on a node that did not remove the name (once EC2 could have shown the removed volume, at most 10 s after it was made)', async () => {
    const a = await node();
    const b = await node();
    const first = await a.provider.create(request(a, 'shared-name', { size: '1' }));
    await b.provider.remove({ name: 'shared-name' });
    const second = await a.provider.create(request(a, 'shared-name', { size: '1' }));
    expect(second.status?.volumeId).not.toBe(first.status?.volumeId);
    expect((await describeCluster()).map((v) => v.VolumeId)).toEqual([second.status?.volumeId]);
  });

  it('a create still being made when its budget ends says so, and the retried create uses that volume, not a second one', async () => {
    let creating = true;
    const a = await fixture.node(ZONE, CLUSTER, {
      timing: { budgets: { create: 1_500 } },
      // moto makes volumes available at once: show them still being created, as EC2 may for a while.
      onClient: (client) =>
        client.middlewareStack.add(
          (next, context) => async (args) => {
            const result = await next(args);
            if (creating && context.commandName === 'DescribeVolumesCommand') {
              for (const volume of (result.output as { Volumes?: Volume[] }).Volumes ?? []) volume.State = 'creating';
            }
            return result;
          },
          { step: 'initialize', name: 'showCreating' },
        ),
    });
    const error = await failure(a.provider.create(request(a, 'slowmade', { size: '1' })), ErrorKind.BackendFailure);
    expect(error.message).toMatch(
      /^EBS volume (vol-[0-9a-f]+) for "slowmade" is still being created \(state creating after \d+ s\); retry shortly: EC2 goes on making it/,
    );
    const pending = /(vol-[0-9a-f]+)/.exec(error.message)?.[1];

    creating = false;
    const retried = await a.provider.create(request(a, 'slowmade', { size: '1' }));
    expect(retried.status?.volumeId).toBe(pending);
    expect((await describeCluster()).map((v) => v.VolumeId)).toEqual([pending]);
  });
});

describe('names and tag keys that are Object.prototype members', () => {
  const NAMES = ['constructor', 'toString', 'hasOwnProperty', 'valueOf'];

  it('keeps volumes named constructor, toString, hasOwnProperty and valueOf apart through create, list, inspect, mount and remove', async () => {
    const a = await node();
    const b = await node();
    const ids = new Map<string, string>();
    for (const [i, name] of NAMES.entries()) {
      ids.set(name, (await a.provider.create(request(a, name, { size: String(i + 1) }))).status?.volumeId as string);
    }
    expect((await b.provider.list()).map((v) => v.name).sort()).toEqual([...NAMES].sort());
    for (const [i, name] of NAMES.entries()) {
      expect(await b.provider.inspect(name)).toMatchObject({
        name,
        options: { size: String(i + 1) },
        status: { volumeId: ids.get(name), sizeGiB: i + 1 },
      });
    }
    const { path } = await b.provider.mount({ name: 'constructor' });
    await writeFile(join(path, 'f'), 'kept');
    await b.provider.unmount({ name: 'constructor' });
    expect(await readFile(join((await a.provider.mount({ name: 'constructor' })).path, 'f'), 'utf8')).toBe('kept');
    await a.provider.unmount({ name: 'constructor' });
    for (const name of NAMES) await b.provider.remove({ name });
    expect(await describeCluster()).toEqual([]);
  });

  it('shows option tags named __proto__, constructor and toString, written to EC2 by hand, as options of the volume', async () => {
    const a = await node();
    const created = await a.provider.create(request(a, 'tagged', { size: '1' }));
    await send(
      new CreateTagsCommand({
        Resources: [created.status?.volumeId as string],
        Tags: ['__proto__', 'constructor', 'toString'].map((key) => ({
          Key: `${OPTION_TAG_PREFIX}${key}`,
          Value: `by hand ${key}`,
        })),
      }),
    );
    const inspected = await a.provider.inspect('tagged');
    expect(
      Object.entries(inspected?.options ?? {})
        .filter(([key]) => !['size', 'ebstype', 'encrypted', 'fstype'].includes(key))
        .sort(),
    ).toEqual([
      ['__proto__', 'by hand __proto__'],
      ['constructor', 'by hand constructor'],
      ['toString', 'by hand toString'],
    ]);
    expect((await a.provider.list()).map((v) => v.name)).toEqual(['tagged']);
  });
});
