import { mkdtemp, rm, unlink } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorKind, StowageError, VolumeEngine, type Logger } from '@stowage/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DockerEngineApi, type DockerContainer, type DockerContainers } from '../src/docker/docker-containers.js';
import { HoldsReconciler } from '../src/docker/holds-reconciler.js';
import { FakeBackend, FakeBackendProvider } from '@stowage/testkit/fake-backend';

/** A Docker engine's container list that the test sets, or an engine that cannot be reached. */
class FakeDocker implements DockerContainers {
  containers: DockerContainer[] = [];
  reachable = true;
  calls = 0;
  async list(): Promise<DockerContainer[]> {
    this.calls += 1;
    if (!this.reachable) throw StowageError.backendFailure('connect ENOENT /var/run/docker.sock');
    return this.containers;
  }
}

function recordingLogger(): Logger & { lines: Array<{ level: string; message: string }> } {
  const lines: Array<{ level: string; message: string }> = [];
  const at = (level: string) => (_fields: object, message: string) => {
    lines.push({ level, message });
  };
  return {
    lines,
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    fatal: at('fatal'),
    child: () => recordingLogger(),
  } as never;
}

describe('HoldsReconciler: holds of containers the Docker engine no longer has', () => {
  let dir: string;
  let backend: FakeBackend;
  let engine: VolumeEngine;
  let docker: FakeDocker;
  const reconcilers: HoldsReconciler[] = [];

  function reconciler(graceMs: number, intervalMs = 3_600_000, logger: Logger = recordingLogger()): HoldsReconciler {
    const r = new HoldsReconciler(engine, docker, logger, { intervalMs, graceMs });
    reconcilers.push(r);
    return r;
  }

  async function held(name: string, ...ids: string[]): Promise<void> {
    await engine.create(name, {}).catch((error: unknown) => {
      if (!StowageError.is(error, ErrorKind.AlreadyExists)) throw error;
    });
    for (const id of ids) {
      await engine.mount(name, id, { provisional: true });
      await engine.confirmMount(name, id);
    }
    // A reconcile releases only Mounts counted strictly before it asked the Docker engine; on a fast disk the next
    // reconcile can fall in the same millisecond as these Mounts, so let the clock move on: these holds are older.
    // (A test that fakes the clock sets it itself.)
    const countedAt = Date.now();
    while (!vi.isFakeTimers() && Date.now() <= countedAt) await new Promise((resolve) => setTimeout(resolve, 1));
  }

  const holdsOf = (name: string) =>
    engine
      .holds()
      .find((v) => v.name === name)
      ?.callers.map((c) => `${c.id}x${c.count}`) ?? [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stowage-holds-'));
    backend = new FakeBackend();
    engine = new VolumeEngine([new FakeBackendProvider(backend)], {} as never, recordingLogger(), {
      stateDir: join(dir, 'state'),
    });
    await engine.start();
    docker = new FakeDocker();
  });

  afterEach(async () => {
    for (const r of reconcilers.splice(0)) await r.stop();
    await engine.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('releases every hold of a volume no running container mounts, and the backend with them', async () => {
    await held('orphan', 'gone', 'gone', 'stopped-container');
    docker.containers = [
      { id: 'c-exited', state: 'exited', volumes: ['orphan'] },
      { id: 'c-created', state: 'created', volumes: ['orphan'] },
      { id: 'c-dead', state: 'dead', volumes: ['orphan'] },
    ];
    expect(await reconciler(0).reconcile()).toEqual({ asked: true, released: { orphan: 3 } });
    expect(engine.holds()).toEqual([]);
    expect(backend.mounted.has('orphan')).toBe(false);
    await engine.remove('orphan');
  });

  it.each(['running', 'paused', 'restarting'])('keeps every hold of a volume a %s container mounts', async (state) => {
    await held('live', 'live-container', 'stale-id');
    docker.containers = [{ id: 'c1', state, volumes: ['other', 'live'] }];
    expect(await reconciler(0).reconcile()).toEqual({ asked: true, released: {} });
    expect(holdsOf('live')).toEqual(['live-containerx1', 'stale-idx1']);
    expect(backend.mounted.has('live')).toBe(true);
  });

  it('keeps holds younger than the grace period: a container is mounted before it runs', async () => {
    await held('starting', 'new-container');
    expect(await reconciler(60_000).reconcile()).toEqual({ asked: true, released: {} });
    expect(holdsOf('starting')).toEqual(['new-containerx1']);
  });

  it('releases only the callers whose last Mount is older than the grace period', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(1_000_000);
      await held('mixed', 'old');
      vi.setSystemTime(1_050_000);
      await held('mixed', 'recent');
      vi.setSystemTime(1_070_000);
      expect(await reconciler(30_000).reconcile()).toEqual({ asked: true, released: { mixed: 1 } });
      expect(holdsOf('mixed')).toEqual(['recentx1']);
    } finally {
      vi.useRealTimers();
    }
  });

  it('releases nothing while the Docker engine cannot be asked, and says so once', async () => {
    await held('kept', 'c1');
    docker.reachable = false;
    const logger = recordingLogger();
    const r = reconciler(0, 3_600_000, logger);
    expect(await r.reconcile()).toEqual({ asked: false, released: {} });
    expect(await r.reconcile()).toEqual({ asked: false, released: {} });
    expect(holdsOf('kept')).toEqual(['c1x1']);
    expect(logger.lines.filter((l) => l.level === 'warn')).toHaveLength(1);
    expect(logger.lines[0]?.message).toContain('cannot ask the Docker engine');
  });

  it('does not ask the Docker engine when nothing is held', async () => {
    expect(await reconciler(0).reconcile()).toEqual({ asked: false, released: {} });
    expect(docker.calls).toBe(0);
  });

  it('runs a pass at start and when nudged (a Docker engine activated the plugin)', async () => {
    await held('v', 'c1');
    docker.containers = [{ id: 'x', state: 'running', volumes: ['v'] }];
    const r = reconciler(0);
    r.start();
    await vi.waitFor(() => expect(docker.calls).toBe(1), { timeout: 10_000, interval: 5 });
    docker.containers = [];
    r.nudge();
    await vi.waitFor(() => expect(engine.holds()).toEqual([]), { timeout: 10_000, interval: 5 });
  });
});

describe('DockerEngineApi', () => {
  let dir: string;
  let server: Server | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stowage-docker-api-'));
  });
  afterEach(async () => {
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    server = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  async function engineAnswering(status: number, body: string): Promise<{ socket: string; paths: string[] }> {
    const socket = join(dir, 'docker.sock');
    const paths: string[] = [];
    const started = createServer((req, res) => {
      paths.push(`${req.method} ${req.url}`);
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(body);
    });
    server = started;
    await new Promise<void>((resolve) => started.listen(socket, resolve));
    return { socket, paths };
  }

  it('lists every container with its state and named volumes, as the engine reports them', async () => {
    // Trimmed from a real `GET /containers/json?all=1` answer of Docker 28.
    const answer = [
      {
        Id: 'a1',
        State: 'running',
        Mounts: [
          {
            Type: 'volume',
            Name: 'db',
            Source: '',
            Destination: '/data',
            Driver: 'stowage',
            Mode: 'z',
            RW: true,
            Propagation: '',
          },
          {
            Type: 'bind',
            Source: '/etc/hosts',
            Destination: '/etc/hosts',
            Mode: '',
            RW: true,
            Propagation: 'rprivate',
          },
        ],
      },
      { Id: 'b2', State: 'exited', Mounts: [{ Type: 'volume', Name: 'logs', Driver: 'stowage:0.1.0' }] },
      { Id: 'c3', State: 'created', Mounts: null },
      { Id: 'd4', Mounts: [{ Type: 'volume', Name: 'odd' }] },
    ];
    const { socket, paths } = await engineAnswering(200, JSON.stringify(answer));
    expect(await new DockerEngineApi(socket).list()).toEqual([
      { id: 'a1', state: 'running', volumes: ['db'] },
      { id: 'b2', state: 'exited', volumes: ['logs'] },
      { id: 'c3', state: 'created', volumes: [] },
      // A state the engine did not report counts as running: the volume keeps its holds.
      { id: 'd4', state: 'running', volumes: ['odd'] },
    ]);
    expect(paths).toEqual(['GET /containers/json?all=1']);
  });

  it('fails, naming the socket, on an error answer, garbage, or no engine at all', async () => {
    const { socket } = await engineAnswering(500, '{"message":"daemon busy"}');
    await expect(new DockerEngineApi(socket).list()).rejects.toThrow(
      `cannot ask the Docker engine at ${socket} (GET /containers/json?all=1): HTTP 500: {"message":"daemon busy"}`,
    );
    await new Promise((resolve) => server?.close(resolve));
    await unlink(socket).catch(() => undefined);
    server = undefined;
    await engineAnswering(200, '{"not":"a list"}');
    await expect(new DockerEngineApi(socket).list()).rejects.toThrow('answered the container list with no list');
    await expect(new DockerEngineApi(join(dir, 'absent.sock')).list()).rejects.toThrow('ENOENT');
  });
});
