import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MotoServer } from '@stowage/aws-testkit';
import { SystemHostOperations, createLogger, parseOptions } from '@stowage/core';
import { EBS_SETTINGS, EbsProvider, type EbsSettings } from '../../src/index.js';
import { FakeUdev } from './fake-udev.js';
import { REGION, motoClient } from './moto-ec2.js';

/** One test node: an EBS provider for one instance id, with its own device and sysfs directories and fake udev. */
export interface EbsTestNode {
  readonly provider: EbsProvider;
  readonly udev: FakeUdev;
  readonly dir: string;
  readonly instanceId: string;
  close(): Promise<void>;
}

export async function startNode(options: {
  moto: MotoServer;
  instanceId: string;
  zone: string;
  clusterId: string;
  dataDir: string;
  init?: boolean;
}): Promise<EbsTestNode> {
  const dir = await mkdtemp(join(tmpdir(), 'stowage-ebs-node-'));
  const settings = parseOptions(
    EBS_SETTINGS,
    {
      clusterId: options.clusterId,
      region: REGION,
      instanceId: options.instanceId,
      availabilityZone: options.zone,
      deviceDir: join(dir, 'by-id'),
      sysfsRoot: join(dir, 'sys'),
      mountRoot: join(dir, 'mounts'),
    },
    'driver ebs',
  ) as EbsSettings;
  const logger = createLogger({ level: 'silent' });
  const provider = new EbsProvider(settings, {
    host: new SystemHostOperations({ logger }),
    logger,
    stateDir: join(dir, 'state'),
    // A client per init: the provider destroys its client on close, as a plugin restart does.
    ec2: () => motoClient(options.moto),
    timing: { deviceTimeoutMs: 10_000 },
  });
  const udevClient = motoClient(options.moto);
  const udev = new FakeUdev({
    client: udevClient,
    instanceId: options.instanceId,
    deviceDir: settings.deviceDir,
    sysfsRoot: settings.sysfsRoot,
    dataDir: options.dataDir,
  });
  await udev.start();
  if (options.init !== false) await provider.init();
  return {
    provider,
    udev,
    dir,
    instanceId: options.instanceId,
    async close() {
      await provider.close();
      await udev.stop();
      udevClient.destroy();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
