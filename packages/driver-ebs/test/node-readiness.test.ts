import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { EC2Client } from '@aws-sdk/client-ec2';
import { afterEach, describe, expect, it } from 'vitest';
import { NodeReadiness } from '../src/node-readiness.js';

const NODE = { region: 'us-east-1', instanceId: 'i-0a', availabilityZone: 'us-east-1a' };
const CREDENTIALS = { accessKeyId: 'AKIAFAKE', secretAccessKey: 'fake' };
const RUNNING =
  '<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><reservationSet><item><reservationId>r-1</reservationId><instancesSet><item><instanceId>i-0a</instanceId><instanceState><code>16</code><name>running</name></instanceState></item></instancesSet></item></reservationSet></DescribeInstancesResponse>';

/** A real SDK client whose HTTP handler answers every request with `body` and counts them. */
function answering(body: string) {
  let requests = 0;
  const client = new EC2Client({
    region: NODE.region,
    credentials: CREDENTIALS,
    requestHandler: {
      handle: async () => {
        requests += 1;
        return {
          response: {
            statusCode: 200,
            headers: { 'content-type': 'text/xml' },
            body: Readable.from([Buffer.from(body)]),
          },
        };
      },
    },
  });
  return { client, requests: () => requests };
}

describe('NodeReadiness', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('asks EC2 again only once its last answer is older than everyMs', async () => {
    const { client, requests } = answering(RUNNING);
    cleanups.push(() => client.destroy());
    let now = 1_000;
    const readiness = new NodeReadiness(client, NODE, { everyMs: 30_000, budgetMs: 4_000 }, () => now);
    await readiness.check();
    now += 29_000;
    await readiness.check();
    expect(requests()).toBe(1);
    now += 2_000;
    await readiness.check();
    expect(requests()).toBe(2);
  });

  it('abandons a call EC2 never answers after its budget, with no second call started meanwhile', async () => {
    const sockets: Socket[] = [];
    // Accepts connections and never answers: a hung endpoint.
    const server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          for (const socket of sockets) socket.destroy();
          server.close(() => resolve());
        }),
    );
    const client = new EC2Client({
      region: NODE.region,
      credentials: CREDENTIALS,
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      maxAttempts: 1,
    });
    cleanups.push(() => client.destroy());
    const readiness = new NodeReadiness(client, NODE, { everyMs: 0, budgetMs: 300 });
    const first = readiness.check();
    const second = readiness.check();
    expect(second).toBe(first);
    await expect(first).rejects.toThrow(
      'EC2 in us-east-1 gave no answer to DescribeInstances of this node within 300 ms',
    );
    expect(sockets).toHaveLength(1);
  });
});
