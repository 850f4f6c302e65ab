import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StowageError, type Logger, type Volume } from '@stowage/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PluginEngine } from '../src/protocol/plugin-app.js';
import { startPluginServer, type PluginServer } from '../src/protocol/plugin-server.js';
import { postJson, rawPost, type RawAnswer } from './support/raw-post.js';
import { startRunningPlugin, type RunningPlugin } from './support/running-plugin.js';

function expectJsonErr(answer: RawAnswer, status: number): string {
  expect(answer.status).toBe(status);
  const body = answer.json<{ Err: string }>();
  expect(body.Err).toEqual(expect.any(String));
  expect(body.Err).not.toBe('');
  return body.Err;
}

describe('requests as the Docker engine sends them, and malformed ones', () => {
  let plugin: RunningPlugin;
  beforeEach(async () => {
    plugin = await startRunningPlugin();
  });
  afterEach(async () => {
    await plugin.close();
  });

  it('parses the body as JSON whatever the Content-Type says, or with none', async () => {
    const body = JSON.stringify({ Name: 'v1', Opts: null });
    expect((await rawPost(plugin.socket, '/VolumeDriver.Create', body)).json()).toEqual({ Err: '' });
    const typed = await rawPost(plugin.socket, '/VolumeDriver.Get', JSON.stringify({ Name: 'v1' }), {
      headers: { 'Content-Type': 'text/plain' },
    });
    expect(typed.json<{ Volume: { Name: string } }>().Volume.Name).toBe('v1');
  });

  it('accepts the literal null body and an absent body where no field is needed', async () => {
    expect((await rawPost(plugin.socket, '/VolumeDriver.List', 'null')).json()).toEqual({ Volumes: [], Err: '' });
    expect((await rawPost(plugin.socket, '/VolumeDriver.Capabilities', undefined)).json()).toEqual({
      Capabilities: { Scope: 'local' },
    });
    expect((await rawPost(plugin.socket, '/Plugin.Activate', '')).json()).toEqual({ Implements: ['VolumeDriver'] });
  });

  it('answers 400 with a JSON Err for malformed JSON, and keeps serving', async () => {
    const err = expectJsonErr(await rawPost(plugin.socket, '/VolumeDriver.Create', '{"Name": "v1",'), 400);
    expect(err).toMatch(/^malformed JSON request body: /);
    expect((await postJson(plugin.socket, '/VolumeDriver.List', null)).status).toBe(200);
  });

  it('answers 413 with a JSON Err for a body over 64 KiB', async () => {
    const body = JSON.stringify({ Name: 'a'.repeat(64 * 1024) });
    const err = expectJsonErr(await rawPost(plugin.socket, '/VolumeDriver.Get', body), 413);
    expect(err).toBe('request body too large: at most 65536 bytes are accepted');
  });

  it('answers 413 for a chunked body that grows past 64 KiB, having read it off, and keeps serving', async () => {
    // No Content-Length: the size shows only as the chunks arrive.
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ socketPath: plugin.socket, method: 'POST', path: '/VolumeDriver.Get' }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      for (let i = 0; i < 50; i++) req.write('x'.repeat(4096));
      req.end();
    });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toEqual({ Err: 'request body too large: at most 65536 bytes are accepted' });
    expect((await postJson(plugin.socket, '/VolumeDriver.List', null)).status).toBe(200);
  });

  it('answers 415 for a compressed body, which the protocol never sends', async () => {
    const answer = await rawPost(plugin.socket, '/VolumeDriver.List', 'null', {
      headers: { 'Content-Encoding': 'gzip' },
    });
    expect(expectJsonErr(answer, 415)).toBe('content encoding "gzip" is not supported: send the body as plain JSON');
  });

  it('takes an empty body as an empty object, which a call naming a volume refuses', async () => {
    expect(expectJsonErr(await rawPost(plugin.socket, '/VolumeDriver.Get', ''), 400)).toBe(
      'invalid request: Name: required',
    );
  });

  it('answers 404 with a JSON Err for an unknown endpoint, whatever the method', async () => {
    expect(expectJsonErr(await postJson(plugin.socket, '/VolumeDriver.Snapshot', null), 404)).toBe(
      'unknown endpoint /VolumeDriver.Snapshot; this plugin implements VolumeDriver',
    );
    expect(expectJsonErr(await rawPost(plugin.socket, '/', undefined, { method: 'GET' }), 404)).toBe(
      'unknown endpoint /; this plugin implements VolumeDriver',
    );
  });

  it('answers 405 with a JSON Err for a method other than POST', async () => {
    const answer = await rawPost(plugin.socket, '/VolumeDriver.List', undefined, { method: 'PUT' });
    expect(expectJsonErr(answer, 405)).toBe('PUT is not allowed on /VolumeDriver.List; the plugin protocol uses POST');
  });

  it.each([
    ['/VolumeDriver.Create', null, 'invalid request: request body: must be a JSON object, got null'],
    ['/VolumeDriver.Create', { Opts: {} }, 'invalid request: Name: required'],
    ['/VolumeDriver.Create', { Name: 7 }, 'invalid request: Name: must be a string, got number'],
    [
      '/VolumeDriver.Create',
      { Name: 'v', Opts: { size: 25 } },
      'invalid request: Opts.size: must be a string, got number',
    ],
    [
      '/VolumeDriver.Create',
      { Name: 'v', Opts: ['a=b'] },
      'invalid request: Opts: must be an object of strings, got an array',
    ],
    ['/VolumeDriver.Mount', { Name: 'v' }, 'invalid request: ID: required'],
    ['/VolumeDriver.Unmount', { Name: 'v', ID: null }, 'invalid request: ID: must be a string, got null'],
    ['/VolumeDriver.Get', [], 'invalid request: request body: must be a JSON object, got an array'],
    ['/VolumeDriver.Remove', { Name: true }, 'invalid request: Name: must be a string, got boolean'],
    ['/VolumeDriver.Path', 'v1', 'invalid request: request body: must be a JSON object, got string'],
  ])('answers 400 naming the field for %s %j', async (endpoint, body, message) => {
    expect(expectJsonErr(await postJson(plugin.socket, endpoint, body), 400)).toBe(message);
  });
});

/** An engine whose every call fails the way `failure` says; the rest of the protocol is the real one. */
function failingEngine(failure: () => never): PluginEngine {
  return {
    create: async () => failure(),
    remove: async () => failure(),
    get: async () => failure(),
    list: async () => failure(),
    mount: async () => failure(),
    unmount: async () => failure(),
    path: async () => failure(),
    scope: () => 'local',
    confirmMount: async () => failure(),
    withdrawMount: async () => failure(),
  };
}

interface LogLine {
  readonly level: string;
  readonly fields: Record<string, unknown>;
  readonly message?: string;
}

function recordingLogger(lines: LogLine[]): Logger {
  const at = (level: string) => (fields: object, message?: string) =>
    lines.push({ level, fields: fields as Record<string, unknown>, ...(message !== undefined ? { message } : {}) });
  const logger: Logger = {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: () => logger,
  };
  return logger;
}

describe('failures inside the engine', () => {
  let dir: string;
  let server: PluginServer | undefined;
  let lines: LogLine[];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stowage-fail-'));
    lines = [];
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  async function serve(engine: PluginEngine): Promise<string> {
    const socket = join(dir, 'p.sock');
    server = await startPluginServer({ engine, socket, logger: recordingLogger(lines) });
    return socket;
  }

  it('answers 500 with a JSON Err for an unexpected exception, logs it, and keeps serving', async () => {
    const socket = await serve(
      failingEngine(() => {
        throw new TypeError('cannot read properties of undefined');
      }),
    );
    const err = expectJsonErr(await postJson(socket, '/VolumeDriver.List', null), 500);
    expect(err).toBe("internal error in the stowage plugin: cannot read properties of undefined; see the plugin's log");
    expect(lines.find((l) => l.level === 'error')?.fields).toMatchObject({ method: 'VolumeDriver.List', status: 500 });
    expect((await postJson(socket, '/VolumeDriver.Capabilities', null)).json()).toEqual({
      Capabilities: { Scope: 'local' },
    });
  });

  it('answers a backend failure on Get with a 200 Err carrying its message', async () => {
    const socket = await serve(
      failingEngine(() => {
        throw StowageError.backendFailure('cannot tell whether volume "v1" exists: EC2 timed out');
      }),
    );
    const answer = await postJson(socket, '/VolumeDriver.Get', { Name: 'v1' });
    expect(answer.status).toBe(200);
    expect(answer.json()).toEqual({ Err: 'cannot tell whether volume "v1" exists: EC2 timed out' });
  });

  it('logs every request at debug with method, volume and duration, and refusals at warn', async () => {
    const volume: Volume = { name: 'v1', backing: 'local', scope: 'local', options: {}, status: {} };
    const socket = await serve({
      ...failingEngine(() => {
        throw StowageError.inUse('volume "v1" is in use');
      }),
      get: async () => volume,
    });
    await postJson(socket, '/VolumeDriver.Get', { Name: 'v1' });
    await postJson(socket, '/VolumeDriver.Remove', { Name: 'v1' });
    const debug = lines.filter((l) => l.level === 'debug' && l.message === 'plugin request');
    expect(debug.map((l) => [l.fields.method, l.fields.volume])).toEqual([
      ['VolumeDriver.Get', 'v1'],
      ['VolumeDriver.Remove', 'v1'],
    ]);
    for (const line of debug) expect(line.fields.ms).toEqual(expect.any(Number));
    expect(lines.filter((l) => l.level === 'warn').map((l) => l.fields)).toEqual([
      { method: 'VolumeDriver.Remove', volume: 'v1', status: 200, err: 'volume "v1" is in use' },
    ]);
  });

  it('omits CreatedAt when the engine does not know it', async () => {
    const volume: Volume = { name: 'v1', backing: 'ebs', scope: 'global', options: {}, status: {} };
    const socket = await serve({
      ...failingEngine(() => {
        throw new Error('unused');
      }),
      get: async () => volume,
      list: async () => [volume],
    });
    expect((await postJson(socket, '/VolumeDriver.Get', { Name: 'v1' })).json()).toEqual({
      Volume: { Name: 'v1', Mountpoint: '', Status: { scope: 'global', options: {} } },
      Err: '',
    });
    expect((await postJson(socket, '/VolumeDriver.List', null)).json()).toEqual({
      Volumes: [{ Name: 'v1', Mountpoint: '' }],
      Err: '',
    });
  });
});
