import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { get, type IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, VolumeEngine, VolumeEvents } from '@stowage/core';
import { FakeBackend, FakeBackendProvider } from '@stowage/testkit/fake-backend';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventStreamLimits } from '../src/event-stream.js';
import { OpsMetrics } from '../src/ops-metrics.js';
import { startOpsServer, type OpsServer } from '../src/ops-server.js';
import { eventually, type RecordingClient, recordEvents } from './support/sse-client.js';

const TOKEN = 'events-token-8d2e61b0';
const logger = createLogger({ level: 'silent' });

let dir: string;
let hub: VolumeEvents;
let engine: VolumeEngine;
let metrics: OpsMetrics;
const servers: OpsServer[] = [];
const clients: RecordingClient[] = [];
const sockets: Socket[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stowage-events-'));
  hub = new VolumeEvents({ logger, capacity: 20 });
  engine = new VolumeEngine(
    [new FakeBackendProvider(new FakeBackend())],
    {} as never,
    logger,
    {
      stateDir: join(dir, 'state'),
    },
    hub,
  );
  await engine.start();
  metrics = new OpsMetrics(engine);
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const server of servers.splice(0)) await server.close();
  await engine.stop();
  await rm(dir, { recursive: true, force: true });
});

interface ServeOptions {
  readonly tokenFile?: string;
  readonly port?: number;
  readonly limits?: EventStreamLimits;
}

async function serve(options: ServeOptions = {}): Promise<OpsServer> {
  const server = await startOpsServer({
    listen: { host: '127.0.0.1', port: options.port ?? 0 },
    tokenFile: options.tokenFile,
    engine,
    metrics,
    logger,
    events: hub,
    eventStreamLimits: { retryMs: 100, ...options.limits },
  });
  servers.push(server);
  return server;
}

function listen(url: string, headers: Record<string, string> = {}): RecordingClient {
  const client = recordEvents(url, headers);
  clients.push(client);
  return client;
}

/** The value of one series in the server's own /metrics answer. */
async function sample(server: OpsServer, series: string): Promise<number | undefined> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

/** A volume's whole life, as the engine reports it: created, mounted, unmounted, removed. */
async function lifeOf(name: string): Promise<void> {
  await engine.create(name, {});
  await engine.mount(name, `task-${name}`);
  await engine.unmount(name, `task-${name}`);
  await engine.remove(name);
}

const LIFE = ['volume.created', 'volume.mounted', 'volume.unmounted', 'volume.removed'];

describe('GET /v1/events', () => {
  it('streams a volume created, mounted, unmounted and removed, in order, each with its seq as id', async () => {
    const server = await serve();
    const head = await streamHead(`${server.url}/v1/events`);
    expect(head.status).toBe(200);
    expect(head.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(head.headers['cache-control']).toBe('no-store');
    // HEAD answers the stream's headers and ends: no stream to hold open.
    const onlyHead = await fetch(`${server.url}/v1/events`, { method: 'HEAD' });
    expect(onlyHead.status).toBe(200);
    expect(onlyHead.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');

    const client = listen(`${server.url}/v1/events`);
    await eventually('the stream to open', () => client.opens === 1);
    await lifeOf('alpha');
    await eventually('four events', () => client.received.length === 4);
    expect(client.received.map((m) => m.type)).toEqual(LIFE);
    expect(client.received.map((m) => m.id)).toEqual(['1', '2', '3', '4']);
    expect(client.received[0]?.data).toMatchObject({
      type: 'volume.created',
      volume: 'alpha',
      backing: 'fake',
      seq: 1,
      options: {},
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(client.received[1]?.data).toMatchObject({
      type: 'volume.mounted',
      volume: 'alpha',
      caller: 'task-alpha',
      mountpoint: expect.any(String),
      holds: 1,
    });
  });

  it('a client that reconnects with its Last-Event-ID gets exactly the events it missed, then the live ones', async () => {
    const first = await serve();
    const port = first.address.port;
    const client = listen(`${first.url}/v1/events`);
    await eventually('the stream to open', () => client.opens === 1);
    await lifeOf('before');
    await eventually('the first four', () => client.received.length === 4);

    // The server goes away; what happens meanwhile is only in the hub's buffer.
    await first.close();
    servers.splice(servers.indexOf(first), 1);
    await lifeOf('during');
    await serve({ port });
    await eventually('the client to reconnect', () => client.opens === 2);
    await eventually('the missed four', () => client.received.length === 8);
    await engine.create('after', {});
    await eventually('the live one', () => client.received.length === 9);

    expect(client.received.map((m) => m.id)).toEqual(['1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(client.received.slice(4, 8).map((m) => [m.type, m.data.volume])).toEqual(LIFE.map((t) => [t, 'during']));
    expect(client.received.some((m) => m.type === 'reset')).toBe(false);
  });

  it('replays from ?since= and, the header winning, from Last-Event-ID', async () => {
    const server = await serve();
    await lifeOf('alpha');
    await lifeOf('beta');

    const bySince = listen(`${server.url}/v1/events?since=6`);
    await eventually('the replay', () => bySince.received.length === 2);
    expect(bySince.received.map((m) => [m.id, m.type, m.data.volume])).toEqual([
      ['7', 'volume.unmounted', 'beta'],
      ['8', 'volume.removed', 'beta'],
    ]);

    const byHeader = listen(`${server.url}/v1/events?since=0`, { 'Last-Event-ID': '7' });
    await eventually('the replay', () => byHeader.received.length === 1);
    expect(byHeader.received.map((m) => m.id)).toEqual(['8']);

    // A client that saw everything gets nothing replayed, then the next event.
    const current = listen(`${server.url}/v1/events?since=8`);
    await eventually('the stream to open', () => current.opens === 1);
    await engine.create('gamma', {});
    await eventually('the live event', () => current.received.length === 1);
    expect(current.received.map((m) => m.id)).toEqual(['9']);
  });

  it('tells a client whose gap the buffer no longer covers to reset, then sends what it holds', async () => {
    const server = await serve();
    // 28 events in a buffer of 20: seqs 1 to 8 are gone.
    for (const name of ['a', 'b', 'c', 'd', 'e', 'f', 'g']) await lifeOf(name);

    const behind = listen(`${server.url}/v1/events?since=3`);
    await eventually('the reset and the buffer', () => behind.received.length === 21);
    expect(behind.received[0]).toEqual({
      type: 'reset',
      id: '8',
      data: { reason: expect.stringContaining('no longer kept'), lastEventId: 3, oldestKept: 9 },
    });
    expect(behind.received.slice(1).map((m) => Number(m.id))).toEqual(Array.from({ length: 20 }, (_, i) => i + 9));

    // An id from before a restart (higher than any this process gave) is a gap too.
    const restarted = listen(`${server.url}/v1/events`, { 'Last-Event-ID': '5000' });
    await eventually('the reset and the buffer', () => restarted.received.length === 21);
    expect(restarted.received[0]).toMatchObject({ type: 'reset', id: '8', data: { lastEventId: 5000 } });
    expect(restarted.received[0]?.data.reason).toMatch(/restarted/);
  });

  it('sends only the types asked for with ?types=', async () => {
    const server = await serve();
    const client = listen(`${server.url}/v1/events?since=0&types=volume.created,volume.removed`);
    await eventually('the stream to open', () => client.opens === 1);
    await lifeOf('alpha');
    await lifeOf('beta');
    await eventually('four events', () => client.received.length === 4);
    expect(client.received.map((m) => [m.id, m.type, m.data.volume])).toEqual([
      ['1', 'volume.created', 'alpha'],
      ['4', 'volume.removed', 'alpha'],
      ['5', 'volume.created', 'beta'],
      ['8', 'volume.removed', 'beta'],
    ]);
  });

  it('answers 400 with the reason to a bad query or Last-Event-ID, and opens no stream', async () => {
    const server = await serve();
    const cases: Array<[string, Record<string, string>, RegExp]> = [
      ['?types=volume.created,volume.exploded', {}, /unknown event type "volume.exploded"; known: volume.created/],
      ['?types=', {}, /unknown event type ""/],
      ['?since=-1', {}, /since: must be an event id/],
      ['?since=1.5', {}, /since: must be an event id/],
      ['?since=99999999999999999999', {}, /since: must be an event id/],
      ['?since=1&since=2', {}, /since given twice/],
      ['?follow=1', {}, /unknown query parameter "follow"/],
      ['', { 'Last-Event-ID': 'abc' }, /Last-Event-ID: must be an event id/],
    ];
    for (const [query, headers, reason] of cases) {
      const answer = await fetch(`${server.url}/v1/events${query}`, { headers });
      expect(answer.status, query).toBe(400);
      expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
      expect(((await answer.json()) as { error: string }).error).toMatch(reason);
    }
    expect(await sample(server, 'stowage_event_streams')).toBe(0);
    const post = await fetch(`${server.url}/v1/events`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('requires the bearer token when one is configured', async () => {
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, TOKEN, { mode: 0o600 });
    const server = await serve({ tokenFile });

    const without = await fetch(`${server.url}/v1/events`);
    expect(without.status).toBe(401);
    const wrong = await fetch(`${server.url}/v1/events`, { headers: { Authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);

    const refused = listen(`${server.url}/v1/events`);
    await eventually('the client to give up', () => refused.failedStatus === 401);
    const admitted = listen(`${server.url}/v1/events`, { Authorization: `Bearer ${TOKEN}` });
    await eventually('the stream to open', () => admitted.opens === 1);
    await engine.create('alpha', {});
    await eventually('the event', () => admitted.received.length === 1);
    expect(refused.opens).toBe(0);
    expect(refused.received).toEqual([]);
  });

  it('sends a keep-alive comment on a quiet stream', async () => {
    const server = await serve({ limits: { heartbeatMs: 50 } });
    const answer = await fetch(`${server.url}/v1/events`);
    const reader = (answer.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = '';
    await eventually('two heartbeats', async () => {
      const { value } = await reader.read();
      text += decoder.decode(value, { stream: true });
      return text.split(': keep-alive\n\n').length > 2;
    });
    await reader.cancel();
    expect(text.startsWith('retry: 100\n\n')).toBe(true);
  });

  it('cuts off a client that never reads once its unread events pass the limit, and keeps serving the others', async () => {
    const server = await serve({ limits: { maxUnreadBytes: 64 * 1024 } });
    const reading = listen(`${server.url}/v1/events`);
    await eventually('the reading stream to open', () => reading.opens === 1);
    const stalled = await stalledClient(server);
    let stalledClosed = false;
    stalled.on('close', () => (stalledClosed = true));
    await eventually('both streams to open', async () => (await sample(server, 'stowage_event_streams')) === 2);

    // 2 KiB events until the stalled one is dropped: the kernel's socket buffers take the first megabytes. In
    // batches below the limit, with a pause between, so the reading client keeps up.
    const padding = 'x'.repeat(2048);
    let emitted = 0;
    await eventually(
      'the stalled client to be dropped',
      async () => {
        for (let i = 0; i < 16; i += 1) {
          emitted += 1;
          hub.emit({ type: 'volume.created', volume: `v${emitted}`, backing: 'fake', options: { padding } });
        }
        await new Promise((resolve) => setTimeout(resolve, 1));
        // The server's count, not the socket: a paused socket sees no close until it reads.
        return emitted % 160 === 0 && (await sample(server, 'stowage_event_streams_dropped_total')) === 1;
      },
      60_000,
    );
    stalled.resume();
    await eventually('the stalled socket to see its connection closed', () => stalledClosed);
    expect(await sample(server, 'stowage_event_streams')).toBe(1);
    // Emitting goes on without it: nothing more is held for it, and the reading client has every event.
    for (let i = 0; i < 100; i += 1) {
      emitted += 1;
      hub.emit({ type: 'volume.created', volume: `v${emitted}`, backing: 'fake', options: {} });
    }
    await eventually('the reader to have every event', () => reading.received.length === emitted, 30_000);
    expect(reading.received.at(-1)?.id).toBe(String(emitted));
    expect(await sample(server, 'stowage_event_streams_dropped_total')).toBe(1);
  });

  it('answers 503 past the most streams, and serves again once one closes', async () => {
    const server = await serve({ limits: { maxStreams: 2 } });
    const one = listen(`${server.url}/v1/events`);
    const two = listen(`${server.url}/v1/events`);
    await eventually('two streams', () => one.opens === 1 && two.opens === 1);

    const third = await fetch(`${server.url}/v1/events`);
    expect(third.status).toBe(503);
    expect(third.headers.get('retry-after')).toBe('5');
    expect(((await third.json()) as { error: string }).error).toMatch(/2 event streams are open/);
    expect(await sample(server, 'stowage_event_streams_refused_total')).toBe(1);

    one.close();
    await eventually(
      'the closed stream to be let go',
      async () => (await sample(server, 'stowage_event_streams')) === 1,
    );
    const again = await fetch(`${server.url}/v1/events`);
    expect(again.status).toBe(200);
    await again.body?.cancel();
  });

  it('ends every open stream when the server closes, without waiting out its grace period', async () => {
    const server = await serve();
    const readers = await Promise.all([0, 1, 2].map(async () => fetch(`${server.url}/v1/events`)));
    // A stream cut at the end of the grace period fails its reader ("terminated"); one ended by the server ends
    // cleanly, so a clean end proves the close did not wait for it.
    const ends = readers.map(async (answer) => {
      const reader = (answer.body as ReadableStream<Uint8Array>).getReader();
      while (!(await reader.read()).done);
      return 'ended';
    });
    await server.close();
    expect(await Promise.all(ends)).toEqual(['ended', 'ended', 'ended']);
    const after = await fetch(`${server.url}/v1/events`).then(
      () => 'answered',
      () => 'refused',
    );
    expect(after).toBe('refused');
  });
});

/**
 * The status and headers of a stream, which is then dropped. Not with fetch: undici opens a spare connection when a
 * request is cancelled, and a connection that never sent a request holds a closing node:http server for its grace.
 */
function streamHead(url: string): Promise<{ status?: number; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const request = get(url, (answer) => {
      resolve({ status: answer.statusCode, headers: answer.headers });
      request.destroy();
    });
    request.once('error', reject);
  });
}

/** A client that asks for the stream and then never reads a byte of it. */
async function stalledClient(server: OpsServer): Promise<Socket> {
  const socket = connect(server.address.port, '127.0.0.1');
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => undefined);
  socket.write('GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n');
  socket.pause();
  return socket;
}
