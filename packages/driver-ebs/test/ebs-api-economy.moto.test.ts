import { join } from 'node:path';
import { CreateVolumeCommand } from '@aws-sdk/client-ec2';
import { SystemHostOperations, parseOptions } from '@stowage/core';
import { beforeEach, describe, expect, it } from 'vitest';
import { CLUSTER_TAG, PAGE_SIZE, VOLUME_NAME_TAG, stackIdFor } from '../src/index.js';
import type { EbsTestNode } from '../src/testing/index.js';
import { useCountingProxy, useMotoFixture } from './support/moto-fixture.js';

const ZONE = 'us-east-1a';
const CLUSTER = 'economy-tests';
const DESCRIBE = 'ec2:DescribeVolumes';
/** Concurrent mounts on one node: each takes a real loop device, and the machine has 8 for every test run. */
const CONCURRENT_MOUNTS = 5;

const fixture = useMotoFixture({ zone: ZONE, clusterId: CLUSTER });
const counting = useCountingProxy(fixture);
beforeEach(() => {
  counting.proxy.reset();
});

/** A node whose provider's EC2 calls go through the counting proxy (its fake udev still talks to moto directly). */
function countedNode(): Promise<EbsTestNode> {
  return fixture.node(ZONE, CLUSTER, { ec2Endpoint: counting.proxy.endpoint });
}

async function create(n: EbsTestNode, name: string): Promise<void> {
  await n.provider.create({ name, options: parseOptions(n.provider.options, { size: '1' }, 'backing=ebs') });
}

/** The counts of the calls `action` makes, taken from a fresh start. */
async function counted(action: () => Promise<unknown>): Promise<Record<string, number>> {
  counting.proxy.reset();
  await action();
  return counting.proxy.counts();
}

describe('EC2 API economy, counted at moto', () => {
  it(`lists 1,000 volumes with at most ceil(1000/${PAGE_SIZE}) DescribeVolumes and no other call`, async () => {
    const tags = (name: string) => [
      { Key: VOLUME_NAME_TAG, Value: name },
      { Key: CLUSTER_TAG, Value: stackIdFor(CLUSTER) },
    ];
    // Made straight through moto: creating them through the provider would only slow the test down.
    const names = Array.from({ length: 1000 }, (_, i) => `listed-${String(i).padStart(4, '0')}`);
    for (let i = 0; i < names.length; i += 25) {
      await Promise.all(
        names.slice(i, i + 25).map((name) =>
          fixture.client.send(
            new CreateVolumeCommand({
              AvailabilityZone: ZONE,
              Size: 1,
              TagSpecifications: [{ ResourceType: 'volume', Tags: tags(name) }],
            }),
          ),
        ),
      );
    }
    const a = await countedNode();
    let listed: string[] = [];
    const calls = await counted(async () => {
      listed = (await a.provider.list()).map((v) => v.name);
    });
    expect(listed.sort()).toEqual(names);
    expect(Object.keys(calls)).toEqual([DESCRIBE]);
    // moto answers DescribeVolumes in one page whatever MaxResults says; paging by 500 is proven in ebs-volumes.test.ts.
    expect(calls[DESCRIBE]).toBeLessThanOrEqual(Math.ceil(1000 / PAGE_SIZE));
  }, 180_000);

  it(`${CONCURRENT_MOUNTS} concurrent mounts on one node share DescribeVolumes calls: fewer than ${CONCURRENT_MOUNTS} single mounts make`, async () => {
    const a = await countedNode();
    const names = Array.from({ length: CONCURRENT_MOUNTS }, (_, i) => `together-${i}`);
    for (const name of ['alone', ...names]) await create(a, name);

    const alone = await counted(() => a.provider.mount({ name: 'alone' }));
    const aloneRelease = await counted(() => a.provider.unmount({ name: 'alone' }));
    const together = await counted(() => Promise.all(names.map((name) => a.provider.mount({ name }))));
    const host = new SystemHostOperations();
    const sources = new Set<string>();
    for (const name of names) {
      const mounted = await a.provider.inspect(name);
      expect(mounted?.status).toMatchObject({ attachedTo: a.instanceId });
      const path = join(a.dir, 'mounts', name);
      const target = (await host.listMounts(path)).find((m) => m.target === path);
      expect(target?.fstype).toBe('ext4');
      sources.add(target?.source as string);
    }
    expect(sources.size).toBe(CONCURRENT_MOUNTS);
    const togetherRelease = await counted(() => Promise.all(names.map((name) => a.provider.unmount({ name }))));

    expect(alone[DESCRIBE]).toBeGreaterThan(0);
    expect(together[DESCRIBE]).toBeLessThan(CONCURRENT_MOUNTS * (alone[DESCRIBE] ?? 0));
    expect(togetherRelease[DESCRIBE]).toBeLessThan(CONCURRENT_MOUNTS * (aloneRelease[DESCRIBE] ?? 0));
    // What cannot be shared stays one call per volume.
    expect(together['ec2:AttachVolume']).toBe(CONCURRENT_MOUNTS);
    expect(togetherRelease['ec2:DetachVolume']).toBe(CONCURRENT_MOUNTS);
    console.log(
      `DescribeVolumes: one mount ${alone[DESCRIBE]}, ${CONCURRENT_MOUNTS} at once ${together[DESCRIBE]}; ` +
        `one release ${aloneRelease[DESCRIBE]}, ${CONCURRENT_MOUNTS} at once ${togetherRelease[DESCRIBE]}`,
    );
  }, 180_000);
});
