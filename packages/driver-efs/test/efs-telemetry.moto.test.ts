import { join } from 'node:path';
import { SystemHostOperations, VolumeEngine, createLogger, type CloudCallObservation } from '@stowage/core';
import { startCountingProxy, type CountingProxy, type MotoCloud } from '@stowage/testkit/moto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { provider, scratch, startMotoEfs } from './support/moto-efs.js';

let world: MotoCloud;
let proxy: CountingProxy;
let dir: Awaited<ReturnType<typeof scratch>>;

beforeAll(async () => {
  world = await startMotoEfs();
  proxy = await startCountingProxy(world.env.AWS_ENDPOINT_URL as string);
});
afterAll(async () => {
  await proxy?.stop();
  await world?.stop();
});
beforeEach(async () => {
  await world.reset();
  dir = await scratch();
});
afterEach(async () => {
  await dir.cleanup();
});

describe('EFS calls reported to telemetry (moto)', () => {
  it('reports every request that reaches EFS through a start, create, mount, list and remove of access point volumes', async () => {
    const fileSystemId = await world.fileSystem();
    const calls: CloudCallObservation[] = [];
    const host = new SystemHostOperations();
    const efs = provider(
      { nfsStandInDir: dir.exports, fileSystemId, accessPoints: true, mountRoot: join(dir.dir, 'mounts') },
      host,
      {
        clientConfig: { endpoint: proxy.endpoint },
        telemetry: { cloudCall: (call) => calls.push(call), journalWrite: () => undefined },
      },
    );
    const engine = new VolumeEngine([efs], host, createLogger({ level: 'silent' }), {
      stateDir: join(dir.dir, 'state'),
    });
    proxy.reset();
    await engine.start();
    try {
      await engine.create('observed', { backing: 'shared' });
      await engine.mount('observed', 'caller-1');
      await engine.unmount('observed', 'caller-1');
      await engine.list();
      await engine.remove('observed');
    } finally {
      await engine.stop();
    }
    const actions = new Set(calls.map((call) => `${call.service}:${call.action}`));
    expect(actions).toEqual(
      new Set([
        'efs:DescribeFileSystems',
        'efs:DescribeMountTargets',
        'efs:CreateAccessPoint',
        'efs:DescribeAccessPoints',
        'efs:DeleteAccessPoint',
      ]),
    );
    expect(calls.reduce((sum, call) => sum + call.attempts, 0)).toBe(proxy.total());
    expect(calls.every((call) => call.outcome === 'ok' && call.seconds > 0)).toBe(true);
  }, 60_000);
});
