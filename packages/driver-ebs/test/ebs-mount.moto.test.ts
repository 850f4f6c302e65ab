import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DescribeVolumesCommand, type Volume } from '@aws-sdk/client-ec2';
import { ErrorKind, SystemHostOperations, VolumeEngine, createLogger, parseOptions } from '@stowage/core';
import { describe, expect, it } from 'vitest';
import type { EbsTestNode } from '../src/testing/index.js';
import { useMotoFixture, volumeImage } from './support/moto-fixture.js';
import { expectStowageError as failure } from '@stowage/core/testing';
import { capturingLogger } from './support/capturing-logger.js';

const ZONE = 'us-east-1a';
const CLUSTER = 'mount-tests';
const host = new SystemHostOperations();

const fixture = useMotoFixture({ zone: ZONE, clusterId: CLUSTER });
const node = (zone?: string) => fixture.node(zone);

async function create(n: EbsTestNode, name: string): Promise<string> {
  const volume = await n.provider.create({
    name,
    options: parseOptions(n.provider.options, { size: '1' }, 'backing=ebs'),
  });
  return volume.status?.volumeId as string;
}

async function attachmentOf(volumeId: string) {
  const { Volumes } = await fixture.client.send(new DescribeVolumesCommand({ VolumeIds: [volumeId] }));
  return Volumes?.[0]?.Attachments?.[0];
}

describe('mount on real block devices', () => {
  it('attaches, formats a blank volume ext4, mounts it, and detaches on unmount', async () => {
    const a = await node();
    const volumeId = await create(a, 'data');
    const { path } = await a.provider.mount({ name: 'data' });
    expect(path).toBe(join(a.dir, 'mounts', 'data'));
    const mount = (await host.listMounts(path)).find((m) => m.target === path);
    expect(mount).toMatchObject({ fstype: 'ext4', source: a.udev.device(volumeId) });
    expect(await attachmentOf(volumeId)).toMatchObject({ InstanceId: a.instanceId, Device: '/dev/xvdf' });
    expect((await a.provider.inspect('data'))?.status).toMatchObject({ attachedTo: a.instanceId, device: '/dev/xvdf' });

    expect((await a.provider.mount({ name: 'data' })).path).toBe(path);

    await a.provider.unmount({ name: 'data' });
    expect(await host.isMountpoint(path)).toBe(false);
    expect(await attachmentOf(volumeId)).toBeUndefined();
    await a.provider.unmount({ name: 'data' });
  });

  it('formats xfs when the volume was created with fstype=xfs, and mounts it as xfs', async () => {
    const a = await node();
    const volume = await a.provider.create({
      name: 'x1',
      options: parseOptions(a.provider.options, { size: '1', fstype: 'xfs' }, 'backing=ebs'),
    });
    const volumeId = volume.status?.volumeId as string;
    const { path } = await a.provider.mount({ name: 'x1' });
    expect((await host.listMounts(path)).find((m) => m.target === path)).toMatchObject({
      fstype: 'xfs',
      source: a.udev.device(volumeId),
    });
    await writeFile(join(path, 'f'), 'on xfs');
    await a.provider.unmount({ name: 'x1' });
    expect(await host.probeFilesystem(volumeImage(a, volumeId))).toBe('xfs');
    expect(await readFile(join((await a.provider.mount({ name: 'x1' })).path, 'f'), 'utf8')).toBe('on xfs');
  });

  it('keeps data across unmount and mount, and never formats twice', async () => {
    const a = await node();
    await create(a, 'keep');
    const first = await a.provider.mount({ name: 'keep' });
    await writeFile(join(first.path, 'hello.txt'), 'still here');
    await a.provider.unmount({ name: 'keep' });
    const second = await a.provider.mount({ name: 'keep' });
    expect(await readFile(join(second.path, 'hello.txt'), 'utf8')).toBe('still here');
  });

  it('gives concurrent mounts of different volumes different device names', async () => {
    const a = await node();
    const ids = await Promise.all(['one', 'two', 'three'].map((name) => create(a, name)));
    await Promise.all(['one', 'two', 'three'].map((name) => a.provider.mount({ name })));
    const devices = await Promise.all(ids.map(async (id) => (await attachmentOf(id))?.Device));
    expect(new Set(devices).size).toBe(3);
  });

  it('refuses a mount past the attach limit with LimitReached, leaving that volume detached', async () => {
    // moto's instance has its root volume attached, which counts as on EC2.
    const a = await fixture.node(ZONE, CLUSTER, { settings: { attachLimit: '2' } });
    await create(a, 'first');
    const secondId = await create(a, 'second');
    await a.provider.mount({ name: 'first' });
    const error = await failure(a.provider.mount({ name: 'second' }), ErrorKind.LimitReached);
    expect(error.message).toMatch(/attachLimit of 2/);
    expect(await attachmentOf(secondId)).toBeUndefined();
    // Released here, the slot serves the other volume.
    await a.provider.unmount({ name: 'first' });
    await a.provider.mount({ name: 'second' });
    expect(await attachmentOf(secondId)).toMatchObject({ InstanceId: a.instanceId });
  });

  it('tells the node facts an orchestrator places volumes by: instance, attach limit, zone and region', async () => {
    const a = await fixture.node(ZONE, CLUSTER, { settings: { attachLimit: '7' } });
    expect(a.provider.nodeFacts()).toEqual({
      nodeId: a.instanceId,
      maxVolumes: 7,
      topology: { region: 'us-east-1', zone: ZONE },
      volumeTopology: ['region'],
    });
  });

  it('refuses a device whose serial is another volume, formats nothing and leaves the volume detached', async () => {
    const a = await node();
    const volumeId = await create(a, 'impostor');
    a.udev.serialOverride.set(volumeId, 'vol0123456789abcdef0');
    const error = await failure(a.provider.mount({ name: 'impostor' }), ErrorKind.BackendFailure);
    expect(error.message).toMatch(/serial number is "vol0123456789abcdef0".*another disk; nothing was formatted/);
    // The loop device outlives the detach only until fake udev sees it: probe the backing file instead.
    expect(await host.probeFilesystem(volumeImage(a, volumeId))).toBeUndefined();
    expect(await attachmentOf(volumeId)).toBeUndefined();
  });

  it('two engines as two nodes of one zone: B is refused while A holds the volume, and gets it with its data after', async () => {
    const a = await node();
    const b = await node();
    const logger = createLogger({ level: 'silent' });
    const engineOf = async (n: EbsTestNode) => {
      const engine = new VolumeEngine([n.provider], host, logger, { stateDir: join(n.dir, 'engine') });
      await engine.start();
      fixture.defer(() => engine.stop());
      return engine;
    };
    const engineA = await engineOf(a);
    const engineB = await engineOf(b);
    await engineA.create('moving', { backing: 'relocatable', size: '1' });
    expect((await engineB.list()).map((v) => v.name)).toContain('moving');

    const pathA = await engineA.mount('moving', 'task-1');
    await writeFile(join(pathA, 'state.txt'), 'written on A');
    const error = await failure(engineB.mount('moving', 'task-2'), ErrorKind.InUse);
    expect(error.message).toContain(a.instanceId);

    await engineA.unmount('moving', 'task-1');
    const pathB = await engineB.mount('moving', 'task-2');
    expect(await readFile(join(pathB, 'state.txt'), 'utf8')).toBe('written on A');
    await engineB.unmount('moving', 'task-2');
  });

  it('reconcile detaches cluster volumes attached here that nobody holds, and keeps held ones', async () => {
    const a = await node();
    const heldId = await create(a, 'held');
    const strayId = await create(a, 'stray');
    await a.provider.mount({ name: 'held' });
    await a.provider.mount({ name: 'stray' });
    await a.provider.reconcile(new Set(['held']));
    expect(await attachmentOf(strayId)).toBeUndefined();
    expect(await attachmentOf(heldId)).toMatchObject({ InstanceId: a.instanceId });
  });

  it("waits for a holder's detach under way, logging it, instead of refusing the volume", async () => {
    const a = await node();
    const volumeId = await create(a, 'handover');
    let releasing = true;
    const log = capturingLogger();
    const b = await fixture.node(ZONE, CLUSTER, {
      logger: log.logger,
      timing: { progressLogMs: 50 },
      // moto detaches at once: show b the volume still being detached from a, as EC2 does for a few seconds.
      onClient: (client) =>
        client.middlewareStack.add(
          (next, context) => async (args) => {
            const result = await next(args);
            if (releasing && context.commandName === 'DescribeVolumesCommand') {
              for (const volume of (result.output as { Volumes?: Volume[] }).Volumes ?? []) {
                if (volume.VolumeId === volumeId)
                  volume.Attachments = [{ VolumeId: volumeId, InstanceId: a.instanceId, State: 'detaching' }];
              }
            }
            return result;
          },
          { step: 'initialize', name: 'showDetaching' },
        ),
    });
    const mounted = b.provider.mount({ name: 'handover' });
    // The wait goes on, logged, until the holder's detach ends; a line once EC2 has described the volume:
    const line = await log.next(
      (l) =>
        l.msg === `still waiting for EBS volume ${volumeId} to detach from ${a.instanceId}` &&
        l.state !== 'not described yet',
    );
    expect(line).toMatchObject({
      volumeId,
      instanceId: a.instanceId,
      state: 'available',
      waitedSeconds: expect.any(Number),
    });
    releasing = false;
    const { path } = await mounted;
    expect(path).toBe(join(b.dir, 'mounts', 'handover'));
    expect(await attachmentOf(volumeId)).toMatchObject({ InstanceId: b.instanceId });
  });
});
