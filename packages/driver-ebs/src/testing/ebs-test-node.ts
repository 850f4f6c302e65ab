import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EC2Client } from '@aws-sdk/client-ec2';
import {
  SystemHostOperations,
  createLogger,
  parseOptions,
  type Logger,
  type StowageTelemetry,
  type VolumeEventSink,
} from '@stowage/core';
import { EbsProvider, type EbsProviderDependencies } from '../ebs-provider.js';
import { EBS_SETTINGS, type EbsSettings } from '../ebs-settings.js';
import { FakeUdev } from './fake-udev.js';

/** One test node: an EBS provider for one instance id, with its own device and sysfs directories and fake udev. */
export interface EbsTestNode {
  readonly provider: EbsProvider;
  readonly udev: FakeUdev;
  readonly dir: string;
  readonly instanceId: string;
  close(): Promise<void>;
}

/** How a test node reaches EC2: a moto server (`motoEc2Client` of the repository's test kit fits `client`). */
export interface EbsTestCloud {
  /** A new EC2 client sending to `endpoint`, or to the cloud's default endpoint when it is not given. */
  client(endpoint?: string): EC2Client;
  /** The endpoint the device plane polls: moto's own, around any proxy in front of it. */
  readonly deviceEndpoint?: string;
  /** The region the node's settings name; `us-east-1` by default. */
  readonly region?: string;
}

/**
 * Starts a test node of the relocatable backing on an EC2 stand-in: an {@link EbsProvider} for `instanceId` with its
 * own device, sysfs and mount directories under a temp directory, and a {@link FakeUdev} playing the device plane.
 */
export async function startEbsTestNode(options: {
  cloud: EbsTestCloud;
  instanceId: string;
  zone: string;
  clusterId: string;
  dataDir: string;
  init?: boolean;
  /** More settings of the backing (`takeover`, `moveWaitSeconds`...), as strings as from env. */
  settings?: Record<string, string>;
  /** Called with each EC2 client the provider makes, e.g. to add a middleware that holds some calls back. */
  onClient?: (client: EC2Client) => void;
  /** Where the provider's EC2 client sends its calls, e.g. a counting proxy in front of moto; moto by default. */
  ec2Endpoint?: string;
  /** Waits and budgets other than the tests' defaults (short device wait, quick snapshot polls). */
  timing?: EbsProviderDependencies['timing'];
  /** The provider's logger; silent by default. */
  logger?: Logger;
  /** Where the provider reports moves and snapshots; nowhere by default. */
  events?: VolumeEventSink;
  /** Where the provider reports its EC2 calls; nowhere by default. */
  telemetry?: StowageTelemetry;
}): Promise<EbsTestNode> {
  const dir = await mkdtemp(join(tmpdir(), 'stowage-ebs-node-'));
  const settings = parseOptions(
    EBS_SETTINGS,
    {
      clusterId: options.clusterId,
      region: options.cloud.region ?? 'us-east-1',
      instanceId: options.instanceId,
      availabilityZone: options.zone,
      deviceDir: join(dir, 'by-id'),
      sysfsRoot: join(dir, 'sys'),
      mountRoot: join(dir, 'mounts'),
      ...options.settings,
    },
    'driver ebs',
  ) as EbsSettings;
  const logger = options.logger ?? createLogger({ level: 'silent' });
  // The device plane is harness, not code under test: straight to moto, around the ClientToken stand-in (it sends no
  // tokens, and its polls every few milliseconds would only load the relay).
  const udevClient = options.cloud.client(options.cloud.deviceEndpoint);
  const udev = new FakeUdev({
    client: udevClient,
    instanceId: options.instanceId,
    deviceDir: settings.deviceDir,
    sysfsRoot: settings.sysfsRoot,
    dataDir: options.dataDir,
  });
  const provider = new EbsProvider(settings, {
    host: new SystemHostOperations({ logger }),
    logger,
    stateDir: join(dir, 'state'),
    ...(options.events ? { events: options.events } : {}),
    // A client per init: the provider destroys its client on close, as a plugin restart does.
    ec2: () => {
      const client = options.cloud.client(options.ec2Endpoint);
      // EBS takes a snapshot's bytes when CreateSnapshot is answered: so does the test's data plane.
      client.middlewareStack.add(
        (next, context) => async (args) => {
          const result = await next(args);
          if (context.commandName === 'CreateSnapshotCommand') {
            const { SnapshotId } = result.output as { SnapshotId?: string };
            const { VolumeId } = args.input as { VolumeId?: string };
            if (SnapshotId && VolumeId) await udev.snapshots.capture(SnapshotId, VolumeId);
          }
          return result;
        },
        { step: 'initialize', name: 'captureSnapshotBytes' },
      );
      options.onClient?.(client);
      return client;
    },
    timing: { snapshotPollMs: 100, ...options.timing },
    ...(options.telemetry ? { telemetry: options.telemetry } : {}),
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
