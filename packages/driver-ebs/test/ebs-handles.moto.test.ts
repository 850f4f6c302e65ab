import { join } from 'node:path';
import { VolumeEngine, createLogger, parseOptions, SystemHostOperations } from '@stowage/core';
import { describe, expect, it } from 'vitest';
import { CLUSTER_TAG, VOLUME_NAME_TAG } from '../src/index.js';
import type { EbsTestNode } from '../src/testing/index.js';
import { useCountingProxy, useMotoFixture } from './support/moto-fixture.js';

const ZONE = 'us-east-1a';
const CLUSTER = 'handle-tests';
const DESCRIBE = 'ec2:DescribeVolumes';
/** A lookup of a volume by its name: this cluster's tag and the name tag, as the batcher filters it. */
const BY_NAME = [`tag:${CLUSTER_TAG}`, `tag:${VOLUME_NAME_TAG}`].sort().join('+');

const fixture = useMotoFixture({ zone: ZONE, clusterId: CLUSTER });
const counting = useCountingProxy(fixture);

/** A node whose provider sends its EC2 calls through the counting proxy, under a volume engine as the plugin runs it. */
async function engineNode(): Promise<{ node: EbsTestNode; engine: VolumeEngine }> {
  const node = await fixture.node(ZONE, CLUSTER, { ec2Endpoint: counting.proxy.endpoint });
  const logger = createLogger({ level: 'silent' });
  const engine = new VolumeEngine([node.provider], new SystemHostOperations({ logger }), logger, {
    stateDir: join(node.dir, 'engine'),
  });
  await engine.start();
  fixture.defer(() => stopped(engine, node));
  return { node, engine };
}

/** Stops the engine, which closes the provider, then starts the provider again: the fixture releases with it. */
async function stopped(engine: VolumeEngine, node: EbsTestNode): Promise<void> {
  await engine.stop();
  await node.provider.init();
}

/** What `action` cost in DescribeVolumes, by kind of lookup, counted from a fresh start. */
async function describesOf(action: () => Promise<unknown>): Promise<Record<string, number>> {
  counting.proxy.reset();
  await action();
  return counting.proxy.lookups(DESCRIBE);
}

// Issue 11: the engine's lookup (inspect) is the only lookup of the volume by name a Mount or a Remove makes; the
// provider acts on that answer instead of describing the volume again.
describe('handles, not names: DescribeVolumes counted at moto', () => {
  it('a Mount of an existing volume looks it up by name once, and a Remove once', async () => {
    const { node, engine } = await engineNode();
    await node.provider.create({
      name: 'existing',
      options: parseOptions(node.provider.options, { size: '1' }, 'backing=ebs'),
    });

    const mount = await describesOf(() => engine.mount('existing', 'task-1'));
    expect(await engine.path('existing')).toBe(join(node.dir, 'mounts', 'existing'));
    const unmount = await describesOf(() => engine.unmount('existing', 'task-1'));
    const remove = await describesOf(() => engine.remove('existing'));
    expect(await engine.get('existing')).toBeUndefined();

    console.log(
      `DescribeVolumes by kind: Mount ${JSON.stringify(mount)}; Unmount ${JSON.stringify(unmount)}; ` +
        `Remove ${JSON.stringify(remove)} (${BY_NAME}: lookups by name; volume-id: the attach and detach waits' ` +
        'polls; attachment.instance-id: the device names in use)',
    );
    expect(mount[BY_NAME]).toBe(1);
    expect(remove[BY_NAME]).toBe(1);
    // The rest of a Mount looks by id (waiting for the attachment), never by name again; the release finds by name.
    expect(Object.keys(mount).filter((kind) => kind.includes(VOLUME_NAME_TAG))).toEqual([BY_NAME]);
    expect(unmount[BY_NAME]).toBe(1);
  });

  it('a Mount after a restart of a volume held before it needs no second lookup either, and the release one', async () => {
    const first = await engineNode();
    await first.node.provider.create({
      name: 'held',
      options: parseOptions(first.node.provider.options, { size: '1' }, 'backing=ebs'),
    });
    await first.engine.mount('held', 'task-1');
    await first.engine.stop();

    // The remount at start-up has no lookup of the engine's to lean on: the provider looks the volume up itself.
    const logger = createLogger({ level: 'silent' });
    const restarted = new VolumeEngine([first.node.provider], new SystemHostOperations({ logger }), logger, {
      stateDir: join(first.node.dir, 'engine'),
    });
    const start = await describesOf(() => restarted.start());
    fixture.defer(() => stopped(restarted, first.node));
    expect(start[BY_NAME]).toBe(1);

    const second = await describesOf(() => restarted.mount('held', 'task-2'));
    // Held and mounted: the engine answers from its record, with no call at all.
    expect(second).toEqual({});
    await restarted.unmount('held', 'task-2');
    const release = await describesOf(() => restarted.unmount('held', 'task-1'));
    expect(release[BY_NAME]).toBe(1);
  });
});
