import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, ErrorKind, StowageError, SystemHostOperations, VolumeEngine, VolumeEvents } from '@stowage/core';
import { startEbsTestNode, type EbsTestNode } from '@stowage/driver-ebs/testing';
import { motoEc2Client, runInstance, startMotoServer, type MotoServer } from '@stowage/testkit/moto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OpsMetrics } from '../src/ops-metrics.js';
import { startOpsServer } from '../src/ops-server.js';
import { eventually, recordEvents } from './support/sse-client.js';

const ZONE_A = 'us-east-1a';
const ZONE_B = 'us-east-1b';
const CLUSTER = 'sse-tests';
const TOKEN = 'sse-moto-token-5b7c';
const host = new SystemHostOperations();
const logger = createLogger({ level: 'silent' });

let moto: MotoServer;
let dir: string;
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  moto = await startMotoServer();
  dir = await mkdtemp(join(tmpdir(), 'stowage-sse-moto-'));
});

afterAll(async () => {
  await moto?.stop();
  await rm(dir, { recursive: true, force: true });
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A node of the relocatable backing on a new moto instance in `zone`, released after the test. */
async function node(zone: string, events?: VolumeEvents): Promise<EbsTestNode> {
  const client = motoEc2Client(moto);
  const instanceId = await runInstance(client, zone);
  client.destroy();
  const started = await startEbsTestNode({
    cloud: { client: (endpoint) => motoEc2Client(moto, endpoint), deviceEndpoint: moto.motoEndpoint },
    instanceId,
    zone,
    clusterId: CLUSTER,
    dataDir: dir,
    events,
  });
  cleanups.push(async () => {
    // Releases whatever the test left mounted and attached on this node.
    await started.provider.reconcile(new Set()).catch(() => undefined);
    await started.close();
  });
  return started;
}

async function engineOf(n: EbsTestNode, events?: VolumeEvents): Promise<VolumeEngine> {
  const engine = new VolumeEngine([n.provider], host, logger, { stateDir: join(n.dir, 'engine') }, events);
  await engine.start();
  cleanups.push(() => engine.stop());
  return engine;
}

/** Mounts as a swarm task does: a Mount that asks to be retried shortly (a move outlasted its wait) is sent again. */
async function mountAsSwarmWould(engine: VolumeEngine, name: string, caller: string): Promise<string> {
  for (;;) {
    try {
      return await engine.mount(name, caller);
    } catch (error) {
      if (!(StowageError.is(error, ErrorKind.BackendFailure) && /retry shortly/.test(error.message))) throw error;
    }
  }
}

describe('GET /v1/events while a volume moves across zones, on moto', () => {
  it('an SSE client sees the move start, progress and finish, then the mount', async () => {
    const hub = new VolumeEvents({ logger });
    const a = await node(ZONE_A);
    const b = await node(ZONE_B, hub);
    const engineA = await engineOf(a);
    const engineB = await engineOf(b, hub);
    // Should the test fail while the volume is mounted here, it is released before the node's directories go.
    cleanups.push(() => engineB.unmount('travels', 'task-b').catch(() => undefined));

    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, TOKEN, { mode: 0o600 });
    const server = await startOpsServer({
      listen: { host: '127.0.0.1', port: 0 },
      tokenFile,
      engine: engineB,
      metrics: new OpsMetrics(engineB),
      logger,
      events: hub,
    });
    cleanups.push(() => server.close());
    const client = recordEvents(`${server.url}/v1/events`, { Authorization: `Bearer ${TOKEN}` });
    cleanups.push(async () => client.close());
    await eventually('the stream to open', () => client.opens === 1);

    await engineA.create('travels', { backing: 'ebs', size: '1' });
    await writeFile(join(await engineA.mount('travels', 'task-a'), 'data.txt'), 'written in us-east-1a');
    await engineA.unmount('travels', 'task-a');

    const path = await mountAsSwarmWould(engineB, 'travels', 'task-b');
    expect(await readFile(join(path, 'data.txt'), 'utf8')).toBe('written in us-east-1a');
    await eventually('the mount on the stream', () => client.received.at(-1)?.type === 'volume.mounted');

    const route = { volume: 'travels', backing: 'ebs', from: ZONE_A, to: ZONE_B };
    const types = client.received.map((m) => m.type);
    expect(types[0]).toBe('move.started');
    expect(types.slice(-2)).toEqual(['move.done', 'volume.mounted']);
    const progress = client.received.filter((m) => m.type === 'move.progress');
    expect(progress.length).toBeGreaterThanOrEqual(1);
    expect(types.slice(1, -2).every((t) => t === 'move.progress')).toBe(true);
    expect(client.received[0]?.data).toMatchObject({ type: 'move.started', ...route });
    for (const { data } of progress) {
      expect(data).toMatchObject({ ...route, phase: expect.stringMatching(/^(snapshot|volume|cleanup)$/) });
      expect(data.percent).toBeGreaterThanOrEqual(0);
      expect(data.percent).toBeLessThanOrEqual(100);
    }
    expect(client.received.at(-2)?.data).toMatchObject({ type: 'move.done', ...route, seconds: expect.any(Number) });
    expect(client.received.at(-1)?.data).toMatchObject({ volume: 'travels', caller: 'task-b', mountpoint: path });
    // Every event of the hub reached the client, in order, each with its seq as id.
    expect(client.received.map((m) => m.id)).toEqual(client.received.map((_, i) => String(i + 1)));
    expect(client.received.length).toBe(hub.lastSeq);

    await engineB.unmount('travels', 'task-b');
    await eventually('the unmount on the stream', () => client.received.at(-1)?.type === 'volume.unmounted');
  });
});
