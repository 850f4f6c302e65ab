import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AttachVolumeCommand,
  DescribeSnapshotsCommand,
  DetachVolumeCommand,
  waitUntilVolumeAvailable,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { MOTO_REGION, motoEc2Client, runInstance, startMotoServer, type MotoServer } from '@stowage/testkit/moto';
import { inspectVolume, listVolumes } from './docker-volumes.js';
import { DRIVER, startE2eEnvironment, type E2eEnvironment } from './e2e-environment.js';
import { detachLoopDevicesLeftUnder, loopDevicesUnder } from './loop-devices.js';
import { mountsUnder, runCommand, waitUntil } from '@stowage/testkit/docker';
import { MotoEbsVolumes, tagsOf } from './moto-ebs-volumes.js';
import { RelocatableNode, type NodePlacement } from './relocatable-node.js';
import { waitForServiceTasks, waitForTaskContainersRemoved } from './swarm-service.js';
import { TeardownSteps } from './teardown-steps.js';

const CLUSTER = 'stowage-e2e-relocatable';
/** The seeds' StackID: the md5 of the cluster identity, computed here on its own to check the driver's. */
const STACK_ID = createHash('md5').update(CLUSTER, 'utf8').digest('hex');
const SERVICE = 'relo';

/**
 * The nodes the plugin plays in turn, one at a time on the same engine and socket: a and b share a zone (a
 * same-zone move), c is in another zone for a cross-zone move (`becomeNode('c')`, then read the volume back).
 */
const ZONES = { a: 'us-east-1a', b: 'us-east-1a', c: 'us-east-1b' } as const;
type NodeName = keyof typeof ZONES;

/**
 * The relocatable backing through the docker CLI. EC2 is a moto server; each node's attached EBS volumes are loop
 * devices over one sparse file per volume id (the driver's FakeUdev, run here for the node the plugin plays), so
 * the driver's real attach, format, mount and release path runs under a real Docker engine.
 */
describe('relocatable (EBS) volumes through the docker CLI, moving between nodes', () => {
  let moto: MotoServer;
  let ec2: EC2Client;
  let ebs: MotoEbsVolumes;
  let dataDir: string;
  let env: E2eEnvironment | undefined;
  const placements = {} as Record<NodeName, NodePlacement>;
  /** The node the plugin plays now. */
  let node: RelocatableNode;
  /** Every node started, stopped or not, for the teardown. */
  const nodes: RelocatableNode[] = [];

  /**
   * Makes the plugin play node `name`: its device plane starts, the plugin (a new one on the same socket) is
   * configured as its instance, and the previous node's device plane goes, as when a task lands on another host.
   */
  async function becomeNode(name: NodeName): Promise<void> {
    const next = await RelocatableNode.start({
      moto,
      client: ec2,
      region: MOTO_REGION,
      clusterId: CLUSTER,
      dataDir,
      ...placements[name],
    });
    nodes.push(next);
    const previous = env === undefined ? undefined : node;
    if (env === undefined) {
      env = await startE2eEnvironment(`relocatable-${name}`, { env: next.pluginEnv() });
    } else {
      await env.replacePlugin(`relocatable-${name}`, { env: next.pluginEnv() });
    }
    node = next;
    await previous?.stop();
  }

  const e2e = (): E2eEnvironment => {
    if (!env) throw new Error('the e2e environment did not start');
    return env;
  };

  beforeAll(async () => {
    moto = await startMotoServer({ region: MOTO_REGION });
    ec2 = motoEc2Client(moto);
    ebs = new MotoEbsVolumes(ec2, STACK_ID);
    dataDir = await mkdtemp('/tmp/stowage-e2e-ebs-data-');
    for (const [name, zone] of Object.entries(ZONES) as Array<[NodeName, string]>) {
      placements[name] = { instanceId: await runInstance(ec2, zone), zone };
    }
    await becomeNode('a');
  });

  afterAll(async () => {
    const teardown = new TeardownSteps();
    // What a failed test left attached to an instance the plugin does not play (a hand-made attachment) would
    // make the teardown's `docker volume rm` fail: such a volume is no node's to release.
    if (moto && node) {
      await teardown.run('detaching volumes held by other instances', async () => {
        for (const volume of await ebs.ofCluster()) {
          for (const held of volume.Attachments ?? []) {
            if (held.InstanceId === node.instanceId || held.State === 'detached') continue;
            await ec2.send(
              new DetachVolumeCommand({ VolumeId: volume.VolumeId, InstanceId: held.InstanceId, Force: true }),
            );
          }
        }
      });
    }
    if (env) await teardown.run('stopping the e2e environment', () => e2e().stop());
    for (const started of nodes) await teardown.run(`stopping node ${started.instanceId}`, () => started.stop());
    ec2?.destroy();
    if (moto) await teardown.run('stopping moto', () => moto.stop());
    if (dataDir) {
      await teardown.run('checking for loop devices left behind', () => detachLoopDevicesLeftUnder(dataDir));
      await rm(dataDir, { recursive: true, force: true });
    }
    teardown.finish('relocatable e2e teardown');
  });

  /** The UUID of the file system on a volume's bytes: unchanged as long as nothing formats it again. */
  async function filesystemUuid(volumeId: string): Promise<string> {
    const probe = await runCommand('blkid', ['-p', '-o', 'value', '-s', 'UUID', node.imageOf(volumeId)]);
    return probe.stdout.trim();
  }

  /** Waits (bounded) until the node's device plane has taken down the loop device of a detached volume. */
  function waitForNoDevice(volumeId: string): Promise<true> {
    const image = node.imageOf(volumeId);
    return waitUntil(
      `the loop device over ${image} to go`,
      async () => {
        if (node.udev.device(volumeId) !== undefined) return undefined;
        // The device plane forgets a device before `losetup -d` has run: the kernel's list is the one that counts.
        return (await loopDevicesUnder(dataDir)).some((l) => l.backingFile === image) ? undefined : true;
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
  }

  let relo1: string;
  let relo1Filesystem: string;

  it('creates relo1 with --opt backing=relocatable --opt size=1 --opt ebstype=gp3: one tagged gp3 EBS volume, listed with its status', async () => {
    const create = await e2e().docker([
      'volume',
      'create',
      '-d',
      DRIVER,
      '--opt',
      'backing=relocatable',
      '--opt',
      'size=1',
      '--opt',
      'ebstype=gp3',
      'relo1',
    ]);
    expect(create.code, create.stderr).toBe(0);

    const [volume, ...others] = await ebs.ofCluster('relo1');
    expect(others).toEqual([]);
    expect(volume).toMatchObject({ Size: 1, VolumeType: 'gp3', AvailabilityZone: ZONES.a, State: 'available' });
    expect(tagsOf(volume!)).toMatchObject({
      'stowage:volume': 'relo1',
      StackID: STACK_ID,
      Name: 'relo1',
      'stowage:option:size': '1',
      'stowage:option:ebstype': 'gp3',
    });
    relo1 = volume!.VolumeId as string;

    expect(await listVolumes(e2e())).toContain(`${DRIVER} relo1`);
    const inspected = await inspectVolume(e2e(), 'relo1');
    expect(inspected.Status).toMatchObject({
      backing: 'ebs',
      volumeId: relo1,
      availabilityZone: ZONES.a,
      state: 'available',
      sizeGiB: 1,
      type: 'gp3',
      mounts: 0,
    });
    expect(inspected.Status).not.toHaveProperty('attachedTo');
    expect(node.udev.device(relo1)).toBeUndefined();
  });

  it("creates the seed's io1 volume (--opt ebstype=io1 --opt size=25 --opt iops=1000) and removes it with docker volume rm", async () => {
    const create = await e2e().docker([
      'volume',
      'create',
      '-d',
      DRIVER,
      '--opt',
      'ebstype=io1',
      '--opt',
      'size=25',
      '--opt',
      'iops=1000',
      '--opt',
      'backing=relocatable',
      'mylocalvol1',
    ]);
    expect(create.code, create.stderr).toBe(0);
    const [volume] = await ebs.ofCluster('mylocalvol1');
    expect(volume).toMatchObject({ Size: 25, VolumeType: 'io1', Iops: 1000, AvailabilityZone: ZONES.a });
    expect(tagsOf(volume!)).toMatchObject({
      'stowage:option:ebstype': 'io1',
      'stowage:option:iops': '1000',
      StackID: STACK_ID,
    });

    const removed = await e2e().docker(['volume', 'rm', 'mylocalvol1']);
    expect(removed.code, removed.stderr).toBe(0);
    expect(await ebs.byId(volume!.VolumeId as string)).toBeUndefined();
    expect(await listVolumes(e2e())).not.toContain(`${DRIVER} mylocalvol1`);
  });

  it('refuses ebstype=gp2 with iops, and a missing size, with a clear error and nothing created in EC2', async () => {
    const before = (await ebs.all()).map((v) => v.VolumeId).sort();
    const cases: Array<{ opts: string[]; says: RegExp }> = [
      { opts: ['--opt', 'ebstype=gp2', '--opt', 'iops=100', '--opt', 'size=1'], says: /iops.*(gp2|ebstype)/i },
      { opts: ['--opt', 'ebstype=gp3'], says: /size.*required|required.*size/i },
    ];
    for (const { opts, says } of cases) {
      const create = await e2e().docker([
        'volume',
        'create',
        '-d',
        DRIVER,
        '--opt',
        'backing=relocatable',
        ...opts,
        'bad1',
      ]);
      expect(create.code, `docker volume create ${opts.join(' ')} succeeded`).not.toBe(0);
      expect(create.stderr).toMatch(says);
    }
    expect((await ebs.all()).map((v) => v.VolumeId).sort()).toEqual(before);
    expect(await listVolumes(e2e())).not.toContain(`${DRIVER} bad1`);
  });

  it('writes with one docker run and reads back with the next, attached only while a container runs', async () => {
    const write = await e2e().docker([
      'run',
      '--rm',
      '-v',
      'relo1:/data',
      e2e().image,
      'sh',
      '-c',
      'echo written on node a > /data/f',
    ]);
    expect(write.code, write.stderr).toBe(0);
    expect(await ebs.attachments(relo1)).toEqual([]);
    expect(await mountsUnder(e2e().plugin.stateDir)).toEqual([]);
    await waitForNoDevice(relo1);
    relo1Filesystem = await filesystemUuid(relo1);
    expect(relo1Filesystem, 'the blank volume was formatted').toMatch(/^[0-9a-f-]{36}$/);

    const holder = await e2e().docker([
      'run',
      '-d',
      '--name',
      'holder',
      '-v',
      'relo1:/data',
      e2e().image,
      'sleep',
      '600',
    ]);
    expect(holder.code, holder.stderr).toBe(0);
    expect(await ebs.attachments(relo1)).toEqual([`${node.instanceId}: attached`]);
    expect((await inspectVolume(e2e(), 'relo1')).Status).toMatchObject({ mounts: 1, attachedTo: node.instanceId });
    const read = await e2e().docker(['exec', 'holder', 'cat', '/data/f']);
    expect(read.stdout).toBe('written on node a\n');

    await e2e().dockerOk(['stop', '-t', '1', 'holder']);
    await e2e().dockerOk(['rm', 'holder']);
    expect(await ebs.attachments(relo1)).toEqual([]);
    expect((await inspectVolume(e2e(), 'relo1')).Status).toMatchObject({ mounts: 0, state: 'available' });
    await waitForNoDevice(relo1);
    expect(await filesystemUuid(relo1), 'the volume was formatted again').toBe(relo1Filesystem);
  });

  it('moves relo1 to another node of the same zone: the plugin restarted as instance b reads what a wrote', async () => {
    await becomeNode('b');
    expect(node.instanceId).not.toBe(placements.a.instanceId);

    expect(await listVolumes(e2e())).toContain(`${DRIVER} relo1`);
    // Only b's device plane runs now: the file can only be read through a volume attached to b.
    const read = await e2e().docker([
      'run',
      '--rm',
      '-v',
      'relo1:/data',
      e2e().image,
      'sh',
      '-c',
      'cat /data/f && echo read on node b >> /data/f',
    ]);
    expect(read.code, read.stderr).toBe(0);
    expect(read.stdout).toBe('written on node a\n');
    expect(await ebs.attachments(relo1)).toEqual([]);
    await waitForNoDevice(relo1);
    expect(await filesystemUuid(relo1), 'the volume was formatted again').toBe(relo1Filesystem);
  });

  it('refuses relo1 while instance a still holds it, naming a, formatting nothing, and refuses to remove it', async () => {
    const holder = placements.a.instanceId;
    await ec2.send(new AttachVolumeCommand({ VolumeId: relo1, InstanceId: holder, Device: '/dev/xvdf' }));
    try {
      const run = await e2e().docker(['run', '--rm', '-v', 'relo1:/data', e2e().image, 'cat', '/data/f']);
      expect(run.code).not.toBe(0);
      expect(run.stderr).toContain(`attached to instance ${holder}`);
      expect(await ebs.attachments(relo1)).toEqual([`${holder}: attached`]);
      expect(node.udev.device(relo1)).toBeUndefined();
      expect(await mountsUnder(e2e().plugin.stateDir)).toEqual([]);
      expect((await inspectVolume(e2e(), 'relo1')).Status).toMatchObject({ attachedTo: holder, mounts: 0 });

      const rm = await e2e().docker(['volume', 'rm', 'relo1']);
      expect(rm.code).not.toBe(0);
      expect(rm.stderr).toContain(holder);
      expect(await ebs.byId(relo1)).toBeDefined();
    } finally {
      await ec2.send(new DetachVolumeCommand({ VolumeId: relo1, InstanceId: holder }));
      await waitUntilVolumeAvailable(
        { client: ec2, maxWaitTime: 60, minDelay: 1, maxDelay: 2 },
        { VolumeIds: [relo1] },
      );
    }
    expect(await filesystemUuid(relo1), 'the volume was formatted again').toBe(relo1Filesystem);

    const read = await e2e().docker(['run', '--rm', '-v', 'relo1:/data', e2e().image, 'cat', '/data/f']);
    expect(read.code, read.stderr).toBe(0);
    expect(read.stdout).toBe('written on node a\nread on node b\n');
    await waitForNoDevice(relo1);
  });

  it('moves relo1 across zones: the plugin restarted as instance c in us-east-1b reads it back from a new volume there', async () => {
    const before = relo1;
    await becomeNode('c');
    const run = await e2e().docker([
      'run',
      '--rm',
      '-v',
      'relo1:/data',
      e2e().image,
      'sh',
      '-c',
      'cat /data/f && echo read in us-east-1b >> /data/f',
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe('written on node a\nread on node b\n');

    const left = await ebs.ofCluster('relo1');
    expect(left.map((v) => [v.AvailabilityZone, v.State])).toEqual([['us-east-1b', 'available']]);
    const moved = left[0]?.VolumeId as string;
    expect(moved).not.toBe(before);
    expect(await ebs.byId(before)).toBeUndefined();
    const { Snapshots = [] } = await ec2.send(
      new DescribeSnapshotsCommand({
        OwnerIds: ['self'],
        Filters: [{ Name: 'tag:stowage:source-volume', Values: [before] }],
      }),
    );
    expect(Snapshots, 'the transfer snapshot was deleted').toEqual([]);
    expect((await inspectVolume(e2e(), 'relo1')).Status).toMatchObject({
      volumeId: moved,
      availabilityZone: 'us-east-1b',
    });
    relo1 = moved;
    await waitForNoDevice(relo1);
  });

  it('deletes the EBS volume with docker volume rm relo1', async () => {
    const removed = await e2e().docker(['volume', 'rm', 'relo1']);
    expect(removed.code, removed.stderr).toBe(0);
    expect(await ebs.byId(relo1)).toBeUndefined();
    expect(await ebs.ofCluster('relo1')).toEqual([]);
    expect(await listVolumes(e2e())).not.toContain(`${DRIVER} relo1`);
  });

  it('gives each task of a 2-replica swarm service its own EBS volume from the templated relocatable mount', async () => {
    // The plugin was activated by the creates above, so the node advertises it from its first description.
    await e2e().dockerOk(['swarm', 'init', '--advertise-addr', '127.0.0.1']);
    const create = await e2e().docker([
      // `sh` as PID 1 ignores SIGTERM: a short grace period keeps `service rm` from waiting the default 10 s.
      'service',
      'create',
      '--detach',
      '--replicas',
      '2',
      '--name',
      SERVICE,
      '--stop-grace-period',
      '1s',
      '--mount',
      `type=volume,volume-driver=${DRIVER},source={{.Service.Name}}-{{.Task.Slot}}-vol,destination=/mydata,` +
        'volume-opt=backing=relocatable,volume-opt=size=1',
      e2e().image,
      'sh',
      '-c',
      'hostname > /mydata/who; sleep 3600',
    ]);
    expect(create.code, create.stderr).toBe(0);
    const containers = await waitForServiceTasks(e2e(), SERVICE, 2);

    const names = [`${SERVICE}-1-vol`, `${SERVICE}-2-vol`];
    const volumes = await ebs.ofCluster();
    expect(volumes.map((v) => tagsOf(v)['stowage:volume']).sort()).toEqual(names);
    for (const volume of volumes) {
      // No ebstype given: the seeds' default, standard (magnetic).
      expect(volume).toMatchObject({ Size: 1, VolumeType: 'standard', AvailabilityZone: node.zone });
      expect(await ebs.attachments(volume.VolumeId as string)).toEqual([`${node.instanceId}: attached`]);
    }

    // A task's hostname is its container's short id: each task wrote its own volume, and sees only its own file.
    const seen = await Promise.all(
      containers.map((container) =>
        waitUntil(
          `task ${container} to have written /mydata/who`,
          async () => {
            const read = await e2e().docker(['exec', container, 'cat', '/mydata/who']);
            return read.code === 0 && read.stdout.trim() !== '' ? read.stdout.trim() : undefined;
          },
          { timeoutMs: 30_000, intervalMs: 500 },
        ),
      ),
    );
    expect(seen.sort()).toEqual([...containers].sort());

    await e2e().dockerOk(['service', 'rm', SERVICE]);
    await waitForTaskContainersRemoved(e2e(), SERVICE);
    for (const volume of volumes) {
      // Swarm stops a task before the engine releases its volumes: give the Unmount (and its detach) a moment.
      await waitUntil(
        `${volume.VolumeId} to be detached`,
        async () => ((await ebs.attachments(volume.VolumeId as string)).length === 0 ? true : undefined),
        { timeoutMs: 60_000, intervalMs: 500 },
      );
    }
    for (const name of names) {
      const removed = await e2e().docker(['volume', 'rm', name]);
      expect(removed.code, removed.stderr).toBe(0);
    }
    expect(await ebs.ofCluster()).toEqual([]);
    // The node keeps one loop device, over its instance's root volume (moto gives each instance one).
    for (const volume of volumes) await waitForNoDevice(volume.VolumeId as string);
  });
});
