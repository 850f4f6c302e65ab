import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackIdFor } from '@stowage/driver-ebs';
import { freePort, PluginProcess, PrometheusServer, waitUntil } from '@stowage/testkit/docker';
import { MOTO_REGION, MotoCloud, runInstance } from '@stowage/testkit/moto';
import { CLI } from '../support/stowage-cli.js';
import { detachLoopDevicesLeftUnder } from './loop-devices.js';
import { MotoEbsVolumes } from './moto-ebs-volumes.js';
import { prometheusQueries, type PrometheusQueries } from './prometheus-queries.js';
import { RelocatableNode } from './relocatable-node.js';
import { TeardownSteps } from './teardown-steps.js';

const JOB = 'stowage-ebs';
const ZONE = 'us-east-1a';
const VOLUME = 'scraped-ebs';
/** The one container the test plays the Docker engine for. */
const CONTAINER_ID = 'c0ffee';
const cloudCalls = (action: string, outcome = 'ok'): string =>
  `stowage_cloud_api_calls_total{job="${JOB}",service="ec2",action="${action}",outcome="${outcome}"}`;

// Issue 13's "an EBS Mount on moto shows AttachVolume", with a real client: Debian's Prometheus scrapes a `stowage
// serve` whose only backing is EBS on a moto server (this node an EC2 instance there, its attached volumes loop
// devices made by the EBS driver's FakeUdev), and its query API shows the EC2 calls a Mount through the plugin socket
// caused, counted by the middleware on the driver's AWS SDK client. No Docker engine: the test sends the engine's
// requests itself, on a socket of its own. It is in the e2e tier because that tier runs one file at a time, as root,
// with Prometheus installed: the instance's root volume and the volume each take one of the machine's few loop devices.
describe('a real Prometheus scraping a plugin whose backing is EBS on moto', () => {
  let cloud: MotoCloud;
  let dataDir: string;
  let secrets: string;
  let node: RelocatableNode;
  let plugin: PluginProcess;
  let prometheus: PrometheusServer;
  let queries: PrometheusQueries;
  let ebs: MotoEbsVolumes;
  /** What the teardown must undo on the plugin: set as the test makes the volume and mounts it. */
  const made = { volume: false, mounted: false };

  beforeAll(async () => {
    cloud = await MotoCloud.start({ zones: [ZONE] });
    const clusterId = `prometheus-ebs-${randomBytes(6).toString('hex')}`;
    ebs = new MotoEbsVolumes(cloud.ec2, stackIdFor(clusterId));
    dataDir = await mkdtemp('/tmp/stowage-e2e-ebs-data-');
    node = await RelocatableNode.start({
      moto: cloud.server,
      client: cloud.ec2,
      region: MOTO_REGION,
      clusterId,
      dataDir,
      instanceId: await runInstance(cloud.ec2, ZONE),
      zone: ZONE,
    });

    secrets = await mkdtemp('/tmp/stowage-e2e-http-token-');
    const tokenFile = join(secrets, 'http-token');
    await writeFile(tokenFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    const listen = `127.0.0.1:${await freePort()}`;
    plugin = await PluginProcess.start({
      cli: CLI,
      label: 'prometheus-ebs-scrape',
      // Its own socket, not Docker's plugin directory: no Docker engine takes part.
      socket: join(secrets, 'plugin.sock'),
      logLevel: 'info',
      env: {
        ...node.pluginEnv(),
        STOWAGE_DRIVERS: 'ebs',
        STOWAGE_HTTP_LISTEN: listen,
        STOWAGE_HTTP_TOKEN_FILE: tokenFile,
      },
    });
    // The ops server starts right after the plugin socket, which is what PluginProcess waited for.
    await waitUntil(
      `the ops server on ${listen}`,
      async () => ((await fetch(`http://${listen}/healthz`)).ok ? true : undefined),
      { timeoutMs: 30_000 },
    );
    prometheus = await PrometheusServer.start({
      label: 'prometheus-ebs-scrape',
      scrapeIntervalSeconds: 1,
      jobs: [{ job: JOB, target: listen, bearerTokenFile: tokenFile }],
    });
    queries = prometheusQueries(prometheus, () => [plugin.logFile]);
  });

  afterAll(async () => {
    const teardown = new TeardownSteps();
    if (made.mounted) {
      await teardown.run('unmounting the volume', () => pluginCall('Unmount', { Name: VOLUME, ID: CONTAINER_ID }));
    }
    if (made.volume) await teardown.run('removing the volume', () => pluginCall('Remove', { Name: VOLUME }));
    await teardown.run('stopping prometheus', async () => prometheus?.stop());
    await teardown.run('disposing of the plugin', async () => plugin?.dispose());
    await teardown.run('stopping the node', async () => node?.stop());
    if (dataDir) {
      // The node's stop detaches its loop devices: any left is detached here, and reported.
      await teardown.run('loop devices left over', () => detachLoopDevicesLeftUnder(dataDir));
      await rm(dataDir, { recursive: true, force: true });
    }
    if (secrets) await rm(secrets, { recursive: true, force: true });
    await teardown.run('stopping moto', async () => cloud?.stop());
    teardown.finish('the EBS scrape teardown', plugin ? ` (plugin log: ${plugin.logFile})` : '');
  });

  /** One plugin call as the Docker engine makes it; rejects unless the plugin answers 200 with an empty `Err`. */
  async function pluginCall(method: string, body: unknown): Promise<Record<string, unknown>> {
    const answer = await plugin.request(`VolumeDriver.${method}`, body);
    const json = (answer.json ?? {}) as Record<string, unknown>;
    if (answer.status !== 200 || json.Err !== '') {
      throw new Error(`VolumeDriver.${method} answered ${answer.status} ${answer.text}`);
    }
    return json;
  }

  it('shows the EC2 calls of a Create, a Mount and an Unmount', async () => {
    expect(await queries.scraped(`up{job="${JOB}"}`, (up) => up === 1)).toBe(1);

    await pluginCall('Create', { Name: VOLUME, Opts: { backing: 'relocatable', size: '1' } });
    made.volume = true;
    // Once Prometheus holds a scrape taken after the Create, what it holds is from before the Mount: nothing attached
    // yet, and the volumes described so far (start-up, Create), so that the counts after the Mount are its doing.
    expect(await queries.scraped(cloudCalls('CreateVolume'), (created) => created >= 1)).toBe(1);
    expect((await queries.valueOf(cloudCalls('AttachVolume'))) ?? 0).toBe(0);
    const describedBefore = (await queries.valueOf(cloudCalls('DescribeVolumes'))) ?? 0;

    const mounted = await pluginCall('Mount', { Name: VOLUME, ID: CONTAINER_ID });
    made.mounted = true;
    expect(mounted.Mountpoint).toEqual(expect.any(String));
    const [volume] = await ebs.ofCluster(VOLUME);
    expect(await ebs.attachments(volume?.VolumeId ?? '(none)')).toEqual([`${node.instanceId}: attached`]);

    expect(await queries.scraped(cloudCalls('AttachVolume'), (attached) => attached >= 1)).toBeGreaterThanOrEqual(1);
    // The Mount waits for the attachment by describing the volume.
    expect(await queries.scraped(cloudCalls('DescribeVolumes'), (n) => n > describedBefore)).toBeGreaterThan(
      describedBefore,
    );
    expect(await queries.valueOf(`stowage_cloud_api_calls_total{job="${JOB}",outcome!="ok"}`)).toBeUndefined();
    // Labelled with the driver's name; `relocatable` is its alias.
    expect(await queries.scraped(`stowage_mounted_volumes{backing="ebs"}`, (n) => n === 1)).toBe(1);

    await pluginCall('Unmount', { Name: VOLUME, ID: CONTAINER_ID });
    made.mounted = false;
    expect(await queries.scraped(cloudCalls('DetachVolume'), (detached) => detached >= 1)).toBeGreaterThanOrEqual(1);
    expect(await queries.scraped(`stowage_mounted_volumes{backing="ebs"}`, (n) => n === 0)).toBe(0);
  });
});
