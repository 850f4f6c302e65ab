import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findTool } from './find-tool.js';
import { isAlive, listProcesses } from './host-processes.js';
import { logFile, logTail } from './log-files.js';
import { mountsUnder, unmountAllUnder } from './mount-info.js';
import { runCommand, type CommandResult, type RunOptions } from './run-command.js';
import { StopWaiting, waitUntil } from './wait-until.js';

// Swarm creates this bridge on the host the first time a node joins; it outlives the engine.
const SWARM_BRIDGE = 'docker_gwbridge';

export interface DockerEngineOptions {
  /** Names the log file (`dockerd-<label>.log`). */
  readonly label: string;
  /** How long to wait for `docker info` to answer. */
  readonly startTimeoutMs?: number;
  /** `live-restore`: running containers outlive a restart of the engine. */
  readonly liveRestore?: boolean;
  /**
   * A dockerd and runc of another build than the host's (scripts/swarm-engine.sh builds current ones for Swarm
   * cluster volumes, which Debian's engine predates); the host's containerd still runs them.
   */
  readonly binaries?: EngineBinaries;
}

/** A dockerd and the runc it runs its containers and plugins with. */
export interface EngineBinaries {
  readonly dockerd: string;
  readonly runc: string;
}

// The name the engine gives the runc of {@link EngineBinaries}: the default runtime, for containers and plugins.
const BUILT_RUNC = 'stowage-e2e-runc';

/**
 * A private Docker engine for one test file (DESIGN.md, tests tier 3): its own data root, exec root, pid file,
 * socket and config file under one temp directory, no iptables and no default bridge. It shares the host with
 * any other engine already running and never touches that one.
 */
export class DockerEngine {
  private exited = false;
  private stopped = false;
  private child: ChildProcess;

  private constructor(
    /** The temp directory holding everything this engine owns. */
    readonly dir: string,
    /** The engine's API socket; every `docker()` call goes there. */
    readonly socket: string,
    readonly logFile: string,
    private readonly dockerCli: string,
    /** dockerd and its arguments, to start it again the same way. */
    private readonly daemon: { readonly path: string; readonly args: readonly string[] },
    child: ChildProcess,
    private readonly swarmBridgeExisted: boolean,
  ) {
    this.child = child;
    this.watch(child);
  }

  static async start(options: DockerEngineOptions): Promise<DockerEngine> {
    if (process.getuid?.() !== 0) {
      throw new Error(
        'the end-to-end tier starts dockerd and mounts volumes: run it as root (sudo bash scripts/dev.sh test)',
      );
    }
    const dockerd = options.binaries?.dockerd ?? (await findTool('dockerd', ['/usr/sbin/dockerd', '/usr/bin/dockerd']));
    // Debian's client matches Debian's engine; another client on PATH (a newer static one) is the fallback.
    const dockerCli = await findTool('docker', ['/usr/bin/docker']);
    if (!dockerd || !dockerCli) {
      throw new Error(
        `dockerd or docker not found (dockerd: ${dockerd ?? 'missing'}, docker: ${dockerCli ?? 'missing'}): ` +
          "install Debian's docker.io (bash scripts/dev.sh setup does)",
      );
    }
    const help = await runCommand(dockerd, ['--help']);
    const swarmBridgeExisted = (await runCommand('ip', ['link', 'show', SWARM_BRIDGE])).code === 0;

    // Short: containerd's and the shims' unix sockets live under the exec root, and socket paths max out at 108.
    const dir = await mkdtemp('/tmp/stowage-e2e-engine-');
    const socket = join(dir, 'docker.sock');
    const configFile = join(dir, 'daemon.json');
    await writeFile(configFile, `${JSON.stringify(options.liveRestore ? { 'live-restore': true } : {})}\n`);
    await mkdir(join(dir, 'cli'), { recursive: true });
    const log = logFile(`dockerd-${options.label}.log`);

    const args = [
      '--data-root',
      join(dir, 'data'),
      '--exec-root',
      join(dir, 'exec'),
      '--pidfile',
      join(dir, 'dockerd.pid'),
      '-H',
      `unix://${socket}`,
      // An /etc/docker/daemon.json on the host (hosts, storage driver...) must not leak into the private engine.
      '--config-file',
      configFile,
      '--iptables=false',
      '--bridge=none',
      // Where a system containerd is running, dockerd 20.10+ uses it: keep our containers in our own namespace.
      '--containerd-namespace',
      'stowage-e2e',
      '--containerd-plugins-namespace',
      'stowage-e2e-plugins',
    ];
    if (help.stdout.includes('--ip6tables')) args.push('--ip6tables=false');
    if (options.binaries) {
      // That runc is built without libseccomp (scripts/swarm-engine.sh): it cannot apply a seccomp profile.
      args.push('--add-runtime', `${BUILT_RUNC}=${options.binaries.runc}`, '--default-runtime', BUILT_RUNC);
      args.push('--seccomp-profile=unconfined');
    }

    const child = spawnDaemon(dockerd, args, log, 'w');
    const engine = new DockerEngine(dir, socket, log, dockerCli, { path: dockerd, args }, child, swarmBridgeExisted);
    try {
      await engine.waitForDocker(options.startTimeoutMs ?? 60_000);
    } catch (error) {
      await engine.stop().catch(() => undefined);
      throw error;
    }
    return engine;
  }

  /**
   * Stops dockerd and starts it again on the same data root, exec root and socket. `SIGTERM` is a service restart:
   * the engine stops its containers and starts them again by their restart policy. `SIGKILL` is a crash: the
   * containers outlive it in their shims, and the engine cleans them up when it comes back.
   */
  async restart(options: { signal?: 'SIGTERM' | 'SIGKILL'; timeoutMs?: number } = {}): Promise<void> {
    if (this.stopped || this.exited) throw new Error('the engine is not running: nothing to restart');
    const signal = options.signal ?? 'SIGTERM';
    this.child.kill(signal);
    // A SIGTERM waits for every container's stop timeout (10 s by default) before dockerd exits.
    if (!(await this.waitForExit(options.timeoutMs ?? 90_000))) {
      throw new Error(
        `dockerd did not exit within ${options.timeoutMs ?? 90_000} ms of ${signal}\n${await logTail(this.logFile)}`,
      );
    }
    // dockerd's own containerd dies with it, but is reaped a moment later: a dockerd started before that finds it
    // alive by its pid file, adopts it and fails with "timeout waiting for containerd to start". (The containers'
    // shims stay, as on a real host.)
    const containerdPid = Number(
      (await readFile(join(this.dir, 'exec', 'containerd', 'containerd.pid'), 'utf8').catch(() => '')).trim(),
    );
    if (containerdPid > 0) {
      await waitUntil(
        "the old dockerd's containerd to be gone",
        async () => (isAlive(containerdPid) ? undefined : true),
        {
          timeoutMs: 30_000,
          intervalMs: 100,
        },
      );
    }
    this.child = spawnDaemon(this.daemon.path, this.daemon.args, this.logFile, 'a');
    this.watch(this.child);
    await this.waitForDocker(options.timeoutMs ?? 90_000);
  }

  /**
   * Runs the docker CLI against this engine, as a user would type it. Never rejects on a non-zero exit: tests
   * assert on failures (code and stderr) as much as on successes.
   */
  docker(args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    const env: NodeJS.ProcessEnv = { ...process.env, ...options.env, DOCKER_CONFIG: join(this.dir, 'cli') };
    // -H wins over these anyway; dropping them keeps a developer's context or TLS settings out of the picture.
    for (const key of ['DOCKER_HOST', 'DOCKER_CONTEXT', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH']) delete env[key];
    return runCommand(this.dockerCli, ['-H', `unix://${this.socket}`, ...args], { ...options, env });
  }

  /** Like {@link docker}, but rejects with the command and its stderr unless it exits 0; resolves with stdout. */
  async dockerOk(args: readonly string[], options: RunOptions = {}): Promise<string> {
    const result = await this.docker(args, options);
    if (result.code !== 0) {
      throw new Error(
        `docker ${args.join(' ')} exited ${result.code}: ${result.stderr.trim() || result.stdout.trim()}`,
      );
    }
    return result.stdout;
  }

  get running(): boolean {
    return !this.exited;
  }

  /**
   * Leaves the swarm, stops dockerd (SIGTERM, then SIGKILL after 30 s), ends what it left running, unmounts
   * whatever is left under its directory and removes it. Idempotent. Throws after doing all it can if something
   * could not be cleaned.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const problems: string[] = [];

    if (!this.exited) {
      await this.docker(['swarm', 'leave', '--force'], { timeoutMs: 60_000 });
      this.child.kill('SIGTERM');
      if (!(await this.waitForExit(30_000))) {
        problems.push('dockerd did not exit within 30 s of SIGTERM; killed');
        this.child.kill('SIGKILL');
        await this.waitForExit(10_000);
      }
    }

    // After a SIGKILL, dockerd's own containerd and the shims of its containers stay: they are ours by the
    // unique directory on their command line.
    for (const leftover of (await listProcesses()).filter((p) => p.argv.some((arg) => arg.includes(this.dir)))) {
      try {
        process.kill(leftover.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    await sleep(200);

    problems.push(...(await unmountAllUnder(this.dir)));
    if (!this.swarmBridgeExisted && !(await this.anotherEngineRuns())) {
      await runCommand('ip', ['link', 'delete', SWARM_BRIDGE]);
    }
    if ((await mountsUnder(this.dir)).length === 0) {
      await rm(this.dir, { recursive: true, force: true }).catch((error: Error) => {
        problems.push(`cannot remove ${this.dir}: ${error.message}`);
      });
    } else {
      // Never rm -r through a mount: it would delete the mounted data, not the mount.
      problems.push(`left ${this.dir} in place: something is still mounted under it`);
    }
    if (problems.length > 0) throw new Error(`stopping the test engine: ${problems.join('; ')}`);
  }

  private watch(child: ChildProcess): void {
    this.exited = false;
    const onExit = (): void => {
      if (this.child === child) this.exited = true;
    };
    child.once('exit', onExit);
    child.once('error', onExit);
  }

  private async waitForDocker(timeoutMs: number): Promise<void> {
    await waitUntil(
      'dockerd to answer `docker info`',
      async () => {
        if (this.exited) throw new StopWaiting(`dockerd exited at start-up\n${await logTail(this.logFile)}`);
        const info = await this.docker(['info', '--format', '{{.ServerVersion}}'], { timeoutMs: 10_000 });
        return info.code === 0 ? info.stdout.trim() : undefined;
      },
      { timeoutMs, intervalMs: 300, describe: () => logTail(this.logFile) },
    );
  }

  private async waitForExit(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.exited || this.child.pid === undefined || !isAlive(this.child.pid)) return true;
      await sleep(100);
    }
    return false;
  }

  private async anotherEngineRuns(): Promise<boolean> {
    const processes = await listProcesses();
    return processes.some((p) => p.pid !== this.child.pid && basename(p.argv[0] ?? '') === 'dockerd');
  }
}

/** Starts dockerd with its output going to `log` (`w`: a fresh log, `a`: appended after a restart). */
function spawnDaemon(dockerd: string, args: readonly string[], log: string, flags: 'w' | 'a'): ChildProcess {
  const fd = openSync(log, flags);
  try {
    return spawn(dockerd, [...args], { stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
}
