import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { driverSettingEnvName, parseOptions } from '@stowage/core';
import { EBS_FAILPOINTS } from '@stowage/driver-ebs';
// The EBS driver's own test node (an in-process provider with its FakeUdev), as the e2e tier uses them.
import { startEbsTestNode } from '@stowage/driver-ebs/testing';
import { MOTO_REGION, motoEc2Client, runInstance, type MotoCloud } from '@stowage/testkit/moto';
import { loopDevicesUnder } from '../e2e/loop-devices.js';
import { RelocatableNode } from '../e2e/relocatable-node.js';
import { runCommand } from '@stowage/testkit/docker';
import type { CrashBacking } from './crash-backings.js';
import { EBS_STEPS } from './crash-steps.js';
import { ebsStrays } from './ebs-strays.js';
import { writeVolumeFiles, type WrittenFile } from './volume-files.js';

/** The zone of the node the plugin plays, and the one a moved volume comes from. */
const PLUGIN_ZONE = 'us-east-1b';
const OTHER_ZONE = 'us-east-1a';
/** 1 GiB, the smallest EBS volume: each is a sparse file behind a loop device. */
const SIZE = '1';

/**
 * The relocatable backing on moto. Each row is a cluster of its own (its cluster id, so its volumes' StackID tag)
 * and a node of its own: an EC2 instance in {@link PLUGIN_ZONE}, and a FakeUdev in the test process making a loop
 * device for each volume moto shows attached to it, over a data directory of the row's (the "EBS" of the row).
 *
 * Every instance's root volume takes a loop device too, and the machine has only 8: run these rows one at a time.
 */
export function relocatableBacking(): CrashBacking {
  return {
    name: 'relocatable (EBS)',
    createOptions: { backing: 'relocatable', size: SIZE },
    driverFailpoints: EBS_FAILPOINTS,
    driverSteps: EBS_STEPS,
    needsCloud: true,
    async prepare(cloud) {
      if (!cloud) throw new Error('the relocatable backing needs the moto server');
      const clusterId = `crash-${randomBytes(6).toString('hex')}`;
      const dataDir = await mkdtemp('/tmp/stowage-crash-ebs-data-');
      let node: RelocatableNode;
      try {
        const instanceId = await runInstance(cloud.ec2, PLUGIN_ZONE);
        node = await RelocatableNode.start({
          moto: cloud.server,
          client: cloud.ec2,
          region: MOTO_REGION,
          clusterId,
          dataDir,
          instanceId,
          zone: PLUGIN_ZONE,
        });
      } catch (error) {
        await rm(dataDir, { recursive: true, force: true });
        throw error;
      }
      return {
        env: {
          ...node.pluginEnv(),
          STOWAGE_DRIVERS: 'ebs',
          // Well below the row's time limit, so that a Mount answering that a move goes on can be sent again
          // (moto completes snapshots at once: the move normally ends well within it).
          [driverSettingEnvName('ebs', 'moveWaitSeconds')]: '30',
        },
        strays: async (_plugin, volumes) => ebsStrays(cloud.ec2, clusterId, volumes),
        createElsewhere: (name) => createInOtherZone(cloud, clusterId, dataDir, name),
        async dispose() {
          // Clean up whatever the stop did, and report the stop's failure and the leftovers both.
          const failures: unknown[] = [];
          await node.stop().catch((error: unknown) => failures.push(error));
          const left = await loopDevicesUnder(dataDir);
          for (const loop of left) await runCommand('losetup', ['-d', loop.name]);
          await rm(dataDir, { recursive: true, force: true });
          if (left.length > 0) {
            failures.push(
              new Error(
                `loop devices left over ${dataDir}: ${left.map((l) => `${l.name} (${l.backingFile})`).join(', ')}`,
              ),
            );
          }
          if (failures.length > 0) throw new AggregateError(failures, 'the EBS crash backing did not stop cleanly');
        },
      };
    },
  };
}

/**
 * Volume `name` made, filled and let go on a node of the row's cluster in {@link OTHER_ZONE}: the EBS driver's
 * provider in this process, on an instance of its own, its FakeUdev sharing the row's data directory so the bytes
 * it writes are the ones the plugin's node finds, as EBS's data plane would have them.
 */
async function createInOtherZone(
  cloud: MotoCloud,
  clusterId: string,
  dataDir: string,
  name: string,
): Promise<WrittenFile[]> {
  const instanceId = await runInstance(cloud.ec2, OTHER_ZONE);
  const cloudOfNode = {
    client: (endpoint?: string) => motoEc2Client(cloud.server, endpoint),
    deviceEndpoint: cloud.server.motoEndpoint,
  };
  const node = await startEbsTestNode({ cloud: cloudOfNode, instanceId, zone: OTHER_ZONE, clusterId, dataDir });
  try {
    const { provider } = node;
    await provider.create({ name, options: parseOptions(provider.options, { size: SIZE }, `volume ${name}`) });
    const { path } = await provider.mount({ name });
    const files = await writeVolumeFiles(path);
    await provider.unmount({ name });
    return files;
  } finally {
    // Whatever a failure left mounted and attached there goes before the node does.
    await node.provider.reconcile(new Set()).catch(() => undefined);
    await node.close();
  }
}
