import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EC2Client } from '@aws-sdk/client-ec2';
import {
  motoEc2Client,
  runInstance,
  startCountingProxy,
  startMotoServer,
  type CountingProxy,
  type MotoServer,
} from '@stowage/testkit/moto';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { startEbsTestNode, type EbsTestCloud, type EbsTestNode } from '../../src/testing/index.js';

/** One moto server per test file, reset before each test, and test nodes that are released after it. */
export interface MotoFixture {
  readonly moto: MotoServer;
  /** A client of the test's own, for setting up and asserting on EC2 directly. */
  readonly client: EC2Client;
  /** Starts a node: a new moto instance in `zone`, with its provider started. */
  node(zone?: string, clusterId?: string, extra?: NodeExtras): Promise<EbsTestNode>;
  /** Runs `cleanup` after the test, before its nodes are released. */
  defer(cleanup: () => Promise<unknown>): void;
}

/** Per-node settings and hooks (see startEbsTestNode). */
export type NodeExtras = Pick<
  Parameters<typeof startEbsTestNode>[0],
  'settings' | 'onClient' | 'ec2Endpoint' | 'timing' | 'logger' | 'events' | 'telemetry'
>;

export function useMotoFixture(defaults: { zone: string; clusterId: string }): MotoFixture {
  let moto: MotoServer;
  let client: EC2Client;
  let dataDir: string;
  let nodes: EbsTestNode[] = [];
  let cleanups: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    moto = await startMotoServer();
    client = motoEc2Client(moto);
    dataDir = await mkdtemp(join(tmpdir(), 'stowage-ebs-data-'));
  });
  afterAll(async () => {
    client?.destroy();
    await moto?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await moto.reset();
    nodes = [];
    cleanups = [];
  });
  afterEach(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    for (const node of nodes) {
      // Releases whatever the test left mounted and attached on this node.
      await node.provider.reconcile(new Set()).catch(() => undefined);
      await node.close();
    }
  });

  return {
    get moto() {
      return moto;
    },
    get client() {
      return client;
    },
    async node(zone = defaults.zone, clusterId = defaults.clusterId, extra: NodeExtras = {}) {
      const instanceId = await runInstance(client, zone);
      const started = await startEbsTestNode({
        cloud: motoTestCloud(moto),
        instanceId,
        zone,
        clusterId,
        dataDir,
        ...extra,
      });
      nodes.push(started);
      return started;
    },
    defer(cleanup) {
      cleanups.push(cleanup);
    },
  };
}

/** The directory holding every test volume's bytes, as `<volume id>.img` (see FakeUdev). */
export function volumeImage(node: EbsTestNode, volumeId: string): string {
  return node.udev.imageOf(volumeId);
}

/** The moto server as a test node's EC2 stand-in: its device plane polls moto itself, around the ClientToken proxy. */
export function motoTestCloud(moto: MotoServer): EbsTestCloud {
  return { client: (endpoint) => motoEc2Client(moto, endpoint), deviceEndpoint: moto.motoEndpoint };
}

/** A counting proxy in front of the fixture's moto server, for the file's tests: give its endpoint to the nodes counted. */
export function useCountingProxy(fixture: MotoFixture): { readonly proxy: CountingProxy } {
  let proxy: CountingProxy | undefined;
  beforeAll(async () => {
    proxy = await startCountingProxy(fixture.moto.endpoint);
  });
  afterAll(async () => {
    await proxy?.stop();
  });
  return {
    get proxy() {
      if (!proxy) throw new Error('the counting proxy starts before the tests');
      return proxy;
    },
  };
}
