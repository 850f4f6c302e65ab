import { randomUUID } from 'node:crypto';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { basename, join } from 'node:path';
import { VolumeEngine, type Logger, type StorageProvider } from '@stowage/core';
import { MOUNT_JOURNAL_FILE, setFailpointHook } from '@stowage/core/testing';
import { DockerEngineApi, dockerConfirmsResend } from '../../src/docker/docker-containers.js';
import { HoldsReconciler } from '../../src/docker/holds-reconciler.js';
import { forgettingReleased, ResentMounts } from '../../src/docker/resent-mounts.js';
import { createPluginApp, type PluginEngine } from '../../src/protocol/plugin-app.js';
import { Chaos, ChaosProvider } from './chaos-provider.js';
import type { FakeDockerApi } from '../support/fake-docker-api.js';

/** What a model run needs of a backend: providers for each plugin start, and a view of the backend's own state. */
export interface ModelBackend {
  readonly label: string;
  /** Two sets of create options (to create a name again with other ones); `backing` may be among them. */
  readonly options: readonly [Readonly<Record<string, string>>, Readonly<Record<string, string>>];
  /** This node's providers for a new plugin start (a new process would build new ones). */
  providers(logger: Logger): Promise<StorageProvider[]>;
  /** Whether the backend has a volume of that name. */
  exists(name: string): Promise<boolean>;
  /** Whether the backend has the volume mounted on this node, at `mountpoint`. */
  mounted(name: string, mountpoint: string): Promise<boolean>;
  /** A container writes `file` through `mountpoint`. */
  write(name: string, mountpoint: string, file: string, content: string): Promise<void>;
  /** What `file` of the volume holds, read from the backend (undefined: missing). */
  read(name: string, mountpoint: string, file: string): Promise<string | undefined>;
  /** Whether {@link read} works while the volume is not mounted here (a directory on a shared export does). */
  readonly readsUnmounted: boolean;
  /** The host reboots: every mount of this node is gone (nothing to do where volumes are plain directories). */
  reboot(): Promise<void>;
  close(): Promise<void>;
}

/** Thrown at a failpoint where the test "kills" the plugin: unwinds the operation that reached it. */
export class SimulatedCrash extends Error {
  constructor(readonly failpoint: string) {
    super(`plugin killed at failpoint ${failpoint}`);
  }
}

/** A plugin's answer to one request. */
export interface PluginAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

interface Incarnation {
  readonly generation: number;
  readonly engine: VolumeEngine;
  readonly reconciler: HoldsReconciler;
  readonly server: Server;
  readonly socket: string;
  readonly stateDir: string;
  alive: boolean;
}

const CONNECTION_ERRORS = new Set(['ECONNRESET', 'ECONNREFUSED', 'ENOENT', 'EPIPE']);

/**
 * One node: a plugin (engine, plugin app on a unix socket, holds reconciler) over a backend, which can be stopped,
 * restarted and killed at any step many times a second, in this process.
 *
 * A kill is as close to `kill -9` as one process allows: its providers are frozen (every later call hangs, so the
 * dead plugin changes nothing more in the backend), its connections are cut, and its state directory is copied as
 * it is at that instant; the next start runs on the copy, while the dead plugin's leftover code runs on against the
 * original, which nothing reads again.
 */
export class PluginWorld {
  readonly chaos = new Chaos();
  /** Kills at failpoints, by name. */
  readonly crashes = new Map<string, number>();
  /** Every failpoint reached, by name. */
  readonly reached = new Map<string, number>();
  starts = 0;
  /** Unsynced mount-table changes that power cuts took ({@link powerCut}). */
  changesCut = 0;
  /** The host's boot ID, as the plugin reads it at start: a new one after each power cut. */
  private boot = randomUUID();
  private generation = 0;
  private current: Incarnation | undefined;
  private stateDir: string;
  private crashAt: string | undefined;
  private failAt: { failpoint: string; error: Error } | undefined;
  private readonly dead: VolumeEngine[] = [];

  constructor(
    private readonly dir: string,
    readonly backend: ModelBackend,
    private readonly docker: FakeDockerApi,
    private readonly logger: Logger,
  ) {
    this.stateDir = join(dir, 'state-0');
  }

  get engine(): VolumeEngine {
    return this.live().engine;
  }

  get reconciler(): HoldsReconciler {
    return this.live().reconciler;
  }

  get server(): Server {
    return this.live().server;
  }

  get running(): boolean {
    return this.current?.alive === true;
  }

  /** Starts the plugin; a kill during start-up (at a failpoint) is followed by another start, as systemd does. */
  async start(): Promise<void> {
    setFailpointHook((name) => this.atFailpoint(name));
    for (let attempt = 0; ; attempt += 1) {
      try {
        await this.startOnce();
        return;
      } catch (error) {
        if (!(error instanceof SimulatedCrash) || attempt >= 3) throw error;
      }
    }
  }

  /** The next time `failpoint` is reached, the plugin dies there. */
  armCrash(failpoint: string): void {
    this.crashAt = failpoint;
  }

  /** The next time `failpoint` is reached, the write there fails with `error` (a full disk). */
  armFailure(failpoint: string, error: Error): void {
    this.failAt = { failpoint, error };
  }

  disarm(): { crashed: boolean; failed: boolean } {
    const result = { crashed: this.crashAt === undefined, failed: this.failAt === undefined };
    this.crashAt = undefined;
    this.failAt = undefined;
    this.chaos.clear();
    return result;
  }

  /** `kill -9`, now. */
  kill(): void {
    const incarnation = this.current;
    if (!incarnation?.alive) return;
    incarnation.alive = false;
    this.chaos.kill(incarnation.generation);
    incarnation.server.closeAllConnections();
    incarnation.server.close();
    void incarnation.reconciler.stop();
    // The state directory as a restart would find it; the dead plugin's own lock is not part of it.
    const next = join(this.dir, `state-${incarnation.generation + 1}`);
    cpSync(incarnation.stateDir, next, { recursive: true, filter: (source) => basename(source) !== 'engine.lock' });
    this.stateDir = next;
    this.dead.push(incarnation.engine);
  }

  /**
   * A power cut, on the state of a plugin killed by it: of the mount journal's changes written since its last
   * fdatasync (the lines marked unsynced at its end), the disk kept the later ones but not the first, which reads back
   * as zeros. One of the states a real cut may leave, and the hardest to read: a restart must start on what the last
   * sync kept. Answers how many unsynced changes the cut took.
   */
  powerCut(): number {
    if (this.running) throw new Error('a power cut takes the plugin with it: kill it first');
    // The host comes back in a new boot.
    this.boot = randomUUID();
    const file = join(this.stateDir, MOUNT_JOURNAL_FILE);
    if (!existsSync(file)) return 0;
    const lines = readFileSync(file, 'utf8').split('\n');
    const tail = lines.pop() as string;
    let first = lines.length;
    while (first > 0 && (JSON.parse(lines[first - 1] as string) as { unsynced?: boolean }).unsynced === true)
      first -= 1;
    if (first === lines.length) return 0;
    lines[first] = '\0'.repeat(Buffer.byteLength(lines[first] as string));
    writeFileSync(file, [...lines, tail].join('\n'));
    this.changesCut += lines.length - first;
    return lines.length - first;
  }

  /** SIGTERM: the plugin finishes what it does and stops; the same state directory is used again. */
  async stop(): Promise<void> {
    const incarnation = this.current;
    if (!incarnation?.alive) return;
    incarnation.alive = false;
    await incarnation.reconciler.stop();
    await new Promise<void>((resolve) => {
      incarnation.server.close(() => resolve());
      incarnation.server.closeIdleConnections();
    });
    await incarnation.engine.stop();
  }

  /**
   * One request, as the Docker engine sends it: when the connection fails (the plugin died under it), the plugin
   * is brought back and the same request sent again, as moby's plugin client does for 30 s.
   */
  async call(method: string, body: unknown): Promise<PluginAnswer> {
    for (let attempt = 0; ; attempt += 1) {
      if (!this.running) await this.start();
      try {
        return await this.send(method, body);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        const dropped =
          (code !== undefined && CONNECTION_ERRORS.has(code)) || (error as Error).message === 'socket hang up';
        if (!dropped || attempt >= 4) throw error;
      }
    }
  }

  /** Sends a request and gives up on it once `reached` resolves (the caller's deadline passed); never answered. */
  async abandon(method: string, body: unknown, reached: Promise<void>): Promise<void> {
    const socket = this.live().socket;
    const caller = request({ socketPath: socket, method: 'POST', path: `/${method}` });
    caller.on('error', () => undefined);
    caller.end(JSON.stringify(body));
    await reached;
    caller.destroy();
  }

  /** Stops everything: the live plugin, then the dead ones' leftovers (their timers and locks). */
  async close(): Promise<void> {
    setFailpointHook(undefined);
    await this.stop().catch(() => undefined);
    for (const engine of this.dead.splice(0)) await engine.stop().catch(() => undefined);
  }

  private live(): Incarnation {
    if (!this.current?.alive) throw new Error('the plugin is not running');
    return this.current;
  }

  private atFailpoint(name: string): void {
    this.reached.set(name, (this.reached.get(name) ?? 0) + 1);
    if (this.failAt?.failpoint === name) {
      const { error } = this.failAt;
      this.failAt = undefined;
      throw error;
    }
    if (this.crashAt === name && this.current?.alive !== false) {
      this.crashAt = undefined;
      this.crashes.set(name, (this.crashes.get(name) ?? 0) + 1);
      this.kill();
      throw new SimulatedCrash(name);
    }
  }

  private async startOnce(): Promise<void> {
    const generation = (this.generation += 1);
    this.starts += 1;
    const providers = (await this.backend.providers(this.logger)).map(
      (p) => new ChaosProvider(p, this.chaos, generation),
    );
    const engine = new VolumeEngine(providers, {} as never, this.logger, {
      stateDir: this.stateDir,
      bootId: this.boot,
    });
    const docker = new DockerEngineApi(this.docker.socket);
    const resentMounts = new ResentMounts((name) => dockerConfirmsResend(docker, name));
    const reconciler = new HoldsReconciler(forgettingReleased(engine, resentMounts), docker, this.logger, {
      intervalMs: 3_600_000,
      graceMs: 0,
    });
    // As `stowage serve` wires it, but with no pass in the background: the model runs each pass as a step of its own.
    const server = createServer(createPluginApp(this.tracked(engine), this.logger, { resentMounts }));
    const socket = join(this.dir, `plugin-${generation}.sock`);
    // Known before the engine starts, so a kill during start-up finds what to cut.
    this.current = { generation, engine, reconciler, server, socket, stateDir: this.stateDir, alive: true };
    await engine.start();
    resentMounts.remember(engine.holds());
    await new Promise<void>((resolve) => server.listen(socket, resolve));
  }

  /**
   * Waits until the plugin has recorded the fate of every answer it sent (a Mount's answer is recorded as answered
   * just after it leaves): the next step then starts from a plugin at rest, whatever the machine's speed.
   */
  async idle(): Promise<void> {
    while (this.recording.size > 0) await Promise.allSettled([...this.recording]);
  }

  private readonly recording = new Set<Promise<void>>();

  /** The engine as the plugin app sees it, with the records of answers' fates followed by {@link idle}. */
  private tracked(engine: VolumeEngine): PluginEngine {
    const follow = (work: Promise<void>): Promise<void> => {
      this.recording.add(work);
      void work.catch(() => undefined).finally(() => this.recording.delete(work));
      return work;
    };
    return {
      create: (name, options) => engine.create(name, options),
      remove: (name) => engine.remove(name),
      get: (name) => engine.get(name),
      list: () => engine.list(),
      mount: (name, id, options) => engine.mount(name, id, options),
      unmount: (name, id) => engine.unmount(name, id),
      path: (name) => engine.path(name),
      scope: () => engine.scope(),
      confirmMount: (name, id) => follow(engine.confirmMount(name, id)),
      withdrawMount: (name, id) => follow(engine.withdrawMount(name, id)),
    };
  }

  private async send(method: string, body: unknown): Promise<PluginAnswer> {
    const socket = this.live().socket;
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: socket, method: 'POST', path: `/${method}` }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          try {
            resolve({
              status: res.statusCode ?? 0,
              body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>,
            });
          } catch (error) {
            reject(error);
          }
        });
      });
      req.on('error', reject);
      req.end(JSON.stringify(body));
    });
  }
}
