import { status } from '@grpc/grpc-js';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { DEADLINE_MARGIN_MS } from '@stowage/csi-adapter';
import { basename, join } from 'node:path';
import { AttachVolumeCommand, DetachVolumeCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { mountsUnder, unmountAllUnder, waitUntil } from '@stowage/testkit/docker';
import { MOTO_REGION, motoEc2Client, runInstance, startMotoServer, type MotoServer } from '@stowage/testkit/moto';
import { stackIdFor } from '@stowage/driver-ebs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detachLoopDevicesLeftUnder, loopDevicesUnder } from '../e2e/loop-devices.js';
import { MotoEbsVolumes } from '../e2e/moto-ebs-volumes.js';
import { RelocatableNode } from '../e2e/relocatable-node.js';
import { TeardownSteps } from '../e2e/teardown-steps.js';
import { cliEnv, startCsi, type ServeProcess } from '../support/stowage-cli.js';
import { CsiClient } from './csi-client.js';
import { csiSanityBinary, expectSanityPassed, runCsiSanity, sanityCounts, sanityPlaces } from './csi-sanity.js';

const CLUSTER = 'stowage-csi-sanity-relocatable';
const ZONE = 'us-east-1a';
const OTHER_ZONE = 'us-east-1b';
/** What Swarm gives every CSI call. */
const SWARM_DEADLINE_MS = 15_000;
const GiB = 2 ** 30;

/**
 * `stowage csi` serving the relocatable backing (EBS) to csi-sanity: EC2 is a moto server, and this node's attached
 * volumes are loop devices over one sparse file per volume (the driver's FakeUdev, through the e2e tier's
 * RelocatableNode), so every publish attaches, formats and mounts for real, and every unpublish detaches.
 */
describe('`stowage csi` on the relocatable backing (EBS on moto, loop devices)', () => {
  let moto: MotoServer;
  let ec2: EC2Client;
  let node: RelocatableNode | undefined;
  /** Every node started, for the teardown. */
  const nodes: RelocatableNode[] = [];
  let dir: string;
  let dataDir: string;
  let endpoint: string;
  let csi: ServeProcess | undefined;
  let sanity: string;
  let instanceId: string;

  beforeAll(async () => {
    // Built once from the Go module proxy (about 80 s on 2 cores), then taken from the cache.
    sanity = await csiSanityBinary();
    moto = await startMotoServer({ region: MOTO_REGION });
    ec2 = motoEc2Client(moto);
    dir = await mkdtemp('/tmp/stowage-csi-ebs-e2e-');
    dataDir = join(dir, 'ebs-data');
    await mkdir(dataDir);
    instanceId = await runInstance(ec2, ZONE);
    node = await RelocatableNode.start({
      moto,
      client: ec2,
      region: MOTO_REGION,
      clusterId: CLUSTER,
      dataDir,
      instanceId,
      zone: ZONE,
    });
    nodes.push(node);
    endpoint = `unix://${join(dir, 'run', 'csi.sock')}`;
    // No --node-id: the node id must be the backing's, this instance's id.
    csi = await startCsi(pluginEnv(node, 'a'), ['--endpoint', endpoint]);
  });

  /** `stowage csi` as node `node` (its own state directory, `name`), on the one endpoint. */
  const pluginEnv = (of: RelocatableNode, name: string) =>
    cliEnv({
      ...of.pluginEnv(),
      STOWAGE_STATE_DIR: join(dir, `state-${name}`),
      STOWAGE_LOCAL_ROOT: join(dir, `volumes-${name}`),
    });

  afterAll(async () => {
    const teardown = new TeardownSteps();
    if (csi) await teardown.run('stopping stowage csi', () => (csi as ServeProcess).stop());
    for (const started of nodes) await teardown.run(`stopping node ${started.instanceId}`, () => started.stop());
    ec2?.destroy();
    if (moto) await teardown.run('stopping moto', () => moto.stop());
    if (dir) {
      await teardown.run('checking for loop devices left behind', () => detachLoopDevicesLeftUnder(dataDir));
      await unmountAllUnder(dir);
      await rm(dir, { recursive: true, force: true });
    }
    teardown.finish('csi-sanity relocatable teardown');
  });

  it('tells the instance, its attach limit and its zone and region, and advertises topology', async () => {
    const client = new CsiClient(endpoint);
    try {
      const info = await client.call('node', 'NodeGetInfo', {});
      expect(info.answer).toMatchObject({
        node_id: instanceId,
        max_volumes_per_node: '25',
        accessible_topology: {
          segments: { 'topology.stowage.io/zone': ZONE, 'topology.stowage.io/region': MOTO_REGION },
        },
      });
      const plugin = await client.call<{ capabilities: unknown[] }>('identity', 'GetPluginCapabilities', {});
      expect(plugin.answer?.capabilities).toContainEqual(
        expect.objectContaining({ service: { type: 'VOLUME_ACCESSIBILITY_CONSTRAINTS' } }),
      );
    } finally {
      client.close();
    }
  });

  it('passes csi-sanity with 1 GiB volumes, idempotency checks included; skips only what it does not advertise', async () => {
    const result = await runCsiSanity(sanity, {
      ...(await sanityPlaces(dir)),
      endpoint,
      volumeParameters: { backing: 'relocatable' },
      volumeSize: GiB,
    });
    console.log(`csi-sanity v5.6.0 against stowage csi (relocatable on moto): ${sanityCounts(result)}`);
    // An EBS volume has a size, reported: no skip is known here.
    expectSanityPassed(result, { knownSkips: [] });
    // Every volume csi-sanity made was deleted, every attachment released, every mount undone.
    const ebs = new MotoEbsVolumes(ec2, stackIdFor(CLUSTER));
    expect(await ebs.ofCluster()).toEqual([]);
    expect(await mountsUnder(dir)).toEqual([]);
    // The device plane mirrors EC2's attachments as it polls them: it drops the loop devices of the deleted volumes
    // once it sees them go. The instance's root volume stays attached, and so does its loop device.
    const leftovers = async () => {
      const live = new Set((await ebs.all()).map((v) => `${v.VolumeId}.img`));
      return (await loopDevicesUnder(dataDir)).filter((loop) => !live.has(basename(loop.backingFile)));
    };
    await waitUntil(
      'the loop devices of deleted volumes to go',
      async () => ((await leftovers()).length === 0 ? true : undefined),
      { timeoutMs: 60_000, describe: async () => JSON.stringify(await leftovers()) },
    );
  });

  it('answers FAILED_PRECONDITION for a volume another running instance holds, or one published here, and changes nothing', async () => {
    const client = new CsiClient(endpoint);
    const capability = { mount: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } };
    const volume = { volume_id: 'held-elsewhere', volume_capability: capability };
    const target = join(dir, 'pods', 'held');
    const ebs = new MotoEbsVolumes(ec2, stackIdFor(CLUSTER));
    const attachments = async () =>
      (await ebs.ofCluster('held-elsewhere')).flatMap((v) => (v.Attachments ?? []).map((a) => a.InstanceId));
    try {
      const created = await client.callAsCo('controller', 'CreateVolume', {
        name: 'held-elsewhere',
        capacity_range: { required_bytes: GiB },
        volume_capabilities: [capability],
        parameters: { backing: 'relocatable' },
      });
      expect(created.error).toBeUndefined();
      const [made] = await ebs.ofCluster('held-elsewhere');
      const volumeId = made?.VolumeId as string;
      // Another node of the zone runs a task on it: its instance holds the attachment, and runs.
      const holder = await runInstance(ec2, ZONE);
      await ec2.send(new AttachVolumeCommand({ VolumeId: volumeId, InstanceId: holder, Device: '/dev/sdf' }));

      const publish = await client.callAsCo('node', 'NodePublishVolume', { ...volume, target_path: target });
      expect(publish.error?.code, publish.error?.details).toBe(status.FAILED_PRECONDITION);
      expect(publish.error?.details).toContain(holder);
      const removal = await client.callAsCo('controller', 'DeleteVolume', { volume_id: 'held-elsewhere' });
      expect(removal.error?.code, removal.error?.details).toBe(status.FAILED_PRECONDITION);
      // Nothing changed: still attached to the holder alone, nothing mounted or held here.
      expect(await attachments()).toEqual([holder]);
      expect(await mountsUnder(dir)).toEqual([]);

      // The holder's task ends: the volume is this node's to publish, and a delete of it while published is refused.
      await ec2.send(new DetachVolumeCommand({ VolumeId: volumeId, InstanceId: holder }));
      const answer = await client.callAsCo('node', 'NodePublishVolume', { ...volume, target_path: target });
      expect(answer.error, answer.error?.details).toBeUndefined();
      await writeFile(join(target, 'kept'), 'still here\n');
      const busy = await client.callAsCo('controller', 'DeleteVolume', { volume_id: 'held-elsewhere' });
      expect(busy.error?.code, busy.error?.details).toBe(status.FAILED_PRECONDITION);
      expect(await readFile(join(target, 'kept'), 'utf8')).toBe('still here\n');
      expect(await attachments()).toEqual([instanceId]);

      expect(
        (await client.callAsCo('node', 'NodeUnpublishVolume', { ...volume, target_path: target })).error,
      ).toBeUndefined();
      expect(await attachments()).toEqual([]);
      expect(
        (await client.callAsCo('controller', 'DeleteVolume', { volume_id: 'held-elsewhere' })).error,
      ).toBeUndefined();
      expect(await ebs.ofCluster('held-elsewhere')).toEqual([]);
    } finally {
      client.close();
    }
  });

  it("moves a volume from another zone while NodePublish answers ABORTED, and a CO's retries pick it up", async () => {
    const first = new CsiClient(endpoint);
    const volume = {
      volume_id: 'moving',
      volume_capability: { mount: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } },
    };
    const pods = join(dir, 'pods');
    await mkdir(pods, { recursive: true });
    try {
      const created = await first.call('controller', 'CreateVolume', {
        name: 'moving',
        capacity_range: { required_bytes: GiB },
        volume_capabilities: [volume.volume_capability],
        parameters: { backing: 'relocatable' },
      });
      expect(created.error).toBeUndefined();
      const a = join(pods, 'a');
      expect((await first.call('node', 'NodePublishVolume', { ...volume, target_path: a })).error).toBeUndefined();
      await writeFile(join(a, 'hello'), 'written in us-east-1a\n');
      expect((await first.call('node', 'NodeUnpublishVolume', { ...volume, target_path: a })).error).toBeUndefined();
    } finally {
      first.close();
    }

    // The task lands on a node of another zone: the plugin there moves the volume by snapshot when it publishes it.
    await csi?.stop();
    // One device plane at a time, as in the other relocatable tiers: the next node's carries the snapshot's bytes.
    if (node) {
      await node.stop();
      nodes.splice(nodes.indexOf(node), 1);
    }
    const other = await RelocatableNode.start({
      moto,
      client: ec2,
      region: MOTO_REGION,
      clusterId: CLUSTER,
      dataDir,
      instanceId: await runInstance(ec2, OTHER_ZONE),
      zone: OTHER_ZONE,
    });
    nodes.push(other);
    csi = await startCsi(pluginEnv(other, 'b'), ['--endpoint', endpoint]);
    const client = new CsiClient(endpoint);
    try {
      const b = join(pods, 'b');
      const publish = (timeoutMs: number) =>
        client.call('node', 'NodePublishVolume', { ...volume, target_path: b }, timeoutMs);
      // A deadline that leaves the call no time of its own: it answers ABORTED at once, the move goes on.
      const hurried = await publish(DEADLINE_MARGIN_MS + 100);
      expect(hurried.error?.code, hurried.error?.details).toBe(status.ABORTED);
      // Another operation on the volume meanwhile is refused, as the spec says, and changes nothing.
      const unpublish = await client.call('node', 'NodeUnpublishVolume', { ...volume, target_path: b }, 15_000);
      expect(unpublish.error?.code).toBe(status.ABORTED);
      // Swarm's retries, each with its 15 s: they join the publish under way until it is done.
      let answer = await publish(SWARM_DEADLINE_MS);
      for (let retry = 0; answer.error?.code === status.ABORTED && retry < 40; retry++) {
        answer = await publish(SWARM_DEADLINE_MS);
      }
      expect(answer.error, answer.error?.details).toBeUndefined();
      expect(await readFile(join(b, 'hello'), 'utf8')).toBe('written in us-east-1a\n');
      const [moved, ...more] = await new MotoEbsVolumes(ec2, stackIdFor(CLUSTER)).ofCluster('moving');
      expect(more).toEqual([]);
      expect(moved).toMatchObject({ AvailabilityZone: OTHER_ZONE });
      expect(moved?.Attachments?.map((x) => x.InstanceId)).toEqual([other.instanceId]);

      expect((await client.call('node', 'NodeUnpublishVolume', { ...volume, target_path: b })).error).toBeUndefined();
      expect((await client.call('controller', 'DeleteVolume', { volume_id: 'moving' })).error).toBeUndefined();
      expect(await new MotoEbsVolumes(ec2, stackIdFor(CLUSTER)).ofCluster()).toEqual([]);
      expect(await mountsUnder(dir)).toEqual([]);
    } finally {
      client.close();
    }
  });
});
