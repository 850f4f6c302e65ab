import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { motoEc2Client, runInstance, startMotoServer, type MotoServer } from '@stowage/testkit/moto';
import { runConformanceSuite, type ConformanceSetup } from '@stowage/core/testing';
import { afterAll, beforeAll } from 'vitest';
import { startEbsTestNode } from '../src/testing/index.js';
import { motoTestCloud } from './support/moto-fixture.js';

let moto: MotoServer;
let dataDir: string;

beforeAll(async () => {
  moto = await startMotoServer();
  dataDir = await mkdtemp(join(tmpdir(), 'stowage-ebs-conformance-'));
});
afterAll(async () => {
  await moto?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

runConformanceSuite('ebs', async (): Promise<ConformanceSetup> => {
  const client = motoEc2Client(moto);
  const instanceId = await runInstance(client, 'us-east-1a');
  client.destroy();
  // The engine calls init; the node's udev plays the kernel for its instance.
  const node = await startEbsTestNode({
    cloud: motoTestCloud(moto),
    instanceId,
    zone: 'us-east-1a',
    clusterId: 'conformance',
    dataDir,
    init: false,
  });
  return {
    provider: node.provider,
    createOptions: { size: '1' },
    otherCreateOptions: { size: '2' },
    invalidOptions: [
      { options: {}, error: /size: required/ },
      { options: { size: '1', ebstype: 'io1' }, error: /iops: required for ebstype=io1/ },
      {
        options: { size: '10', ebstype: 'gp2', iops: '300' },
        error: /iops: only allowed when ebstype is io1 or io2 or gp3/,
      },
      {
        options: { size: '1', ebstype: 'gp2', throughput: '200' },
        error: /throughput: only allowed when ebstype is gp3/,
      },
      { options: { size: '1', kmskeyid: 'alias/mine' }, error: /kmskeyid: only allowed when encrypted is true/ },
      { options: { size: '1', snapshot: 'snapshot-1' }, error: /snapshot: must be an EBS snapshot id/ },
      { options: { size: '2000' }, error: /size: must be between 1 and 1024 GiB for ebstype=standard/ },
      { options: { size: '4', ebstype: 'io1', iops: '1000' }, error: /iops: at most 50 per GiB/ },
      {
        options: { size: '1', ebstype: 'magnetic' },
        error: /ebstype: must be one of gp2, gp3, io1, io2, st1, sc1, standard/,
      },
    ],
    teardown: () => node.close(),
  };
});
