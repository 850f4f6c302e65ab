import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { lstat, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createLogger } from '@stowage/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PluginEngine } from '../src/protocol/plugin-app.js';
import { SOCKET_MODE, startPluginServer, type PluginServer } from '../src/protocol/plugin-server.js';
import { postJson } from './support/raw-post.js';

const logger = createLogger({ level: 'silent' });

/** Enough of an engine for Capabilities and a List that takes `listMs`. */
function slowEngine(listMs = 0): PluginEngine {
  const unused = async () => {
    throw new Error('not used by this test');
  };
  return {
    create: unused,
    remove: unused,
    get: unused,
    mount: unused,
    unmount: unused,
    path: unused,
    confirmMount: unused,
    withdrawMount: unused,
    list: async () => {
      await new Promise((resolve) => setTimeout(resolve, listMs));
      return [];
    },
    scope: () => 'local',
  };
}

let dir: string;
let servers: PluginServer[];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stowage-server-'));
  servers = [];
});
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await rm(dir, { recursive: true, force: true });
});

async function start(socket: string, engine = slowEngine()): Promise<PluginServer> {
  const server = await startPluginServer({ engine, socket, logger, closeGraceMs: 2_000 });
  servers.push(server);
  return server;
}

describe('startPluginServer', () => {
  it('creates the parent directory and listens with mode 0660', async () => {
    const socket = join(dir, 'run', 'docker', 'plugins', 'stowage.sock');
    await start(socket);
    const stats = await lstat(socket);
    expect(stats.isSocket()).toBe(true);
    expect(stats.mode & 0o777).toBe(SOCKET_MODE);
    expect(SOCKET_MODE).toBe(0o660);
    expect((await postJson(socket, '/Plugin.Activate', null)).json()).toEqual({ Implements: ['VolumeDriver'] });
  });

  it('replaces a socket file left by a plugin that died', async () => {
    const socket = join(dir, 'stowage.sock');
    // SIGKILL skips the unlink a clean close does: what a crashed plugin leaves behind.
    const script = `require('net').createServer().listen(${JSON.stringify(socket)}, () => process.kill(process.pid, 'SIGKILL'))`;
    await promisify(execFile)(process.execPath, ['-e', script]).catch(() => undefined);
    expect((await lstat(socket)).isSocket()).toBe(true);
    await start(socket);
    expect((await postJson(socket, '/VolumeDriver.Capabilities', null)).json()).toEqual({
      Capabilities: { Scope: 'local' },
    });
  });

  it('refuses a socket another process answers on, and leaves it alone', async () => {
    const socket = join(dir, 'stowage.sock');
    const other: Server = createServer((connection) => connection.end());
    await new Promise<void>((resolve) => other.listen(socket, resolve));
    try {
      await expect(start(socket)).rejects.toThrow(
        `another process serves ${socket}; stop it, or give this plugin another socket`,
      );
      expect((await lstat(socket)).isSocket()).toBe(true);
      expect(other.listening).toBe(true);
    } finally {
      await new Promise((resolve) => other.close(resolve));
    }
  });

  it('refuses a path that is not a socket, and leaves the file alone', async () => {
    const socket = join(dir, 'stowage.sock');
    await writeFile(socket, 'precious');
    await expect(start(socket)).rejects.toThrow(`${socket} exists and is not a socket`);
    expect(await readFile(socket, 'utf8')).toBe('precious');
  });

  it('removes the socket file on close, even with an idle keep-alive connection open', async () => {
    const socket = join(dir, 'stowage.sock');
    const server = await start(socket);
    const agent = new Agent({ keepAlive: true });
    await new Promise<void>((resolve, reject) => {
      const req = request({ socketPath: socket, method: 'POST', path: '/Plugin.Activate', agent }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end('null');
    });
    const started = Date.now();
    await server.close();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(existsSync(socket)).toBe(false);
    agent.destroy();
  });

  it('lets a request under way finish before closing', async () => {
    const socket = join(dir, 'stowage.sock');
    const server = await start(socket, slowEngine(300));
    const pending = postJson(socket, '/VolumeDriver.List', null);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await server.close();
    const answer = await pending;
    expect(answer.status).toBe(200);
    expect(answer.json()).toEqual({ Volumes: [], Err: '' });
  });
});

describe('requests that are not HTTP', () => {
  it('answers 400 with a JSON Err and keeps serving', async () => {
    const socket = join(dir, 'stowage.sock');
    await start(socket);
    const answer = await new Promise<string>((resolve, reject) => {
      const connection = connect(socket, () => connection.end('NONSENSE\r\n\r\n'));
      let text = '';
      connection.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      connection.on('end', () => resolve(text));
      connection.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toEqual({
      Err: expect.stringMatching(/^malformed HTTP request: /),
    });
    expect((await postJson(socket, '/Plugin.Activate', null)).status).toBe(200);
  });
});
