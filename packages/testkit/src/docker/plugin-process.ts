import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { logFile, logTail } from './log-files.js';
import { mountsUnder, unmountAllUnder } from './mount-info.js';
import { pluginRequest, type PluginAnswer } from './plugin-request.js';
import { StopWaiting, waitUntil } from './wait-until.js';

/** Where Docker looks for a legacy plugin named `stowage`. */
// Generous on purpose: a plugin starting its backings (moto calls, a reconcile) on one loaded core can take tens of
// seconds; these bound only a plugin that never comes up or never exits.
const START_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 60_000;

export const DEFAULT_PLUGIN_SOCKET = '/run/docker/plugins/stowage.sock';

export interface PluginProcessOptions {
  /**
   * The built CLI (`dist/cli/main.js` of @stowage/docker-adapter), as `stowage serve` runs it: the tests run the built
   * packages, not the sources.
   */
  readonly cli: string;
  /** Names the log file (`plugin-<label>.log`). */
  readonly label: string;
  readonly socket?: string;
  readonly logLevel?: string;
  readonly startTimeoutMs?: number;
  /** More `STOWAGE_*` variables (other drivers and their settings), applied over the defaults above. */
  readonly env?: Readonly<Record<string, string>>;
}

/** How the plugin process ended. */
export interface PluginExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/**
 * The plugin as a user runs it: `node packages/docker-adapter/dist/cli/main.js serve`, configured only by
 * environment, its JSON logs captured to a file. Its state directory and local volume root are temp
 * directories kept across restarts, so a restarted plugin finds what the previous one left.
 */
export class PluginProcess {
  private child: ChildProcess | undefined;
  private exit: PluginExit | undefined;
  private exitWaiters: Array<(exit: PluginExit) => void> = [];

  private constructor(
    readonly socket: string,
    /** The temp directory holding the state directory and the local root. */
    readonly baseDir: string,
    readonly stateDir: string,
    /** `STOWAGE_LOCAL_ROOT`: where local volumes' directories live. */
    readonly localRoot: string,
    readonly logFile: string,
    private options: PluginProcessOptions,
  ) {}

  static async start(options: PluginProcessOptions): Promise<PluginProcess> {
    if (!existsSync(options.cli)) {
      throw new Error(`${options.cli} does not exist: build the packages first (pnpm build at the repository root)`);
    }
    const socket = options.socket ?? DEFAULT_PLUGIN_SOCKET;
    const baseDir = await mkdtemp('/tmp/stowage-e2e-plugin-');
    // The local root sits two levels down, so a name that climbs out of it would still land in baseDir, where
    // the escape tests look.
    const plugin = new PluginProcess(
      socket,
      baseDir,
      join(baseDir, 'state'),
      join(baseDir, 'volumes', 'local'),
      logFile(`plugin-${options.label}.log`),
      options,
    );
    writeFileSync(plugin.logFile, '');
    try {
      await plugin.launch();
    } catch (error) {
      await plugin.dispose().catch(() => undefined);
      throw error;
    }
    return plugin;
  }

  get running(): boolean {
    return this.child !== undefined && this.exit === undefined;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** One request to the plugin's socket, as the Docker engine would send it. */
  request(method: string, body: unknown = {}): Promise<PluginAnswer> {
    return pluginRequest(this.socket, method, body);
  }

  /** SIGTERM, then waits for the exit (SIGKILL after `timeoutMs`, and an error saying so). */
  async stop(timeoutMs = STOP_TIMEOUT_MS): Promise<PluginExit> {
    const child = this.child;
    if (!child || this.exit) return this.exit ?? { code: null, signal: null };
    child.kill('SIGTERM');
    const exit = await this.waitForExit(timeoutMs);
    if (exit) return exit;
    child.kill('SIGKILL');
    await this.waitForExit(10_000);
    throw new Error(
      `the plugin did not exit within ${timeoutMs} ms of SIGTERM and was killed\n${await logTail(this.logFile)}`,
    );
  }

  /** SIGKILL: the plugin gets no chance to clean up, as after a crash. */
  async kill(): Promise<PluginExit> {
    const child = this.child;
    if (!child || this.exit) return this.exit ?? { code: null, signal: null };
    child.kill('SIGKILL');
    const exit = await this.waitForExit(10_000);
    if (!exit) throw new Error(`the plugin (pid ${child.pid}) survived SIGKILL for 10 s`);
    return exit;
  }

  /** Stops the plugin (SIGTERM) and starts it again on the same socket, state directory and local root. */
  async restart(): Promise<PluginExit> {
    const exit = await this.stop();
    await this.launch();
    return exit;
  }

  /**
   * Starts the plugin again after it ended (killed, or dead at a failpoint) on the same socket and directories, with
   * `env` in place of the extra variables it ran with.
   */
  async relaunch(env: Readonly<Record<string, string>>): Promise<void> {
    if (this.running) throw new Error(`the plugin (pid ${this.pid}) still runs: stop or kill it before relaunching`);
    this.options = { ...this.options, env };
    await this.launch();
  }

  /** How the plugin ended, once it does by itself within `timeoutMs`; undefined while it still runs. */
  exited(timeoutMs: number): Promise<PluginExit | undefined> {
    return this.waitForExit(timeoutMs);
  }

  /** Stops the plugin if it runs, unmounts whatever it left under its directories and removes them. */
  async dispose(): Promise<void> {
    const problems: string[] = [];
    if (this.running) {
      await this.stop().catch((error: Error) => problems.push(error.message));
    }
    problems.push(...(await unmountAllUnder(this.baseDir)));
    if ((await mountsUnder(this.baseDir)).length === 0) {
      await rm(this.baseDir, { recursive: true, force: true });
    } else {
      problems.push(`left ${this.baseDir} in place: something is still mounted under it`);
    }
    if (problems.length > 0) throw new Error(`disposing of the plugin: ${problems.join('; ')}`);
  }

  private async launch(): Promise<void> {
    await this.refuseIfSocketTaken();
    await mkdir(this.baseDir, { recursive: true });
    const env: NodeJS.ProcessEnv = {};
    // A developer's own STOWAGE_* settings (another config, other drivers) must not change what is tested.
    for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('STOWAGE_')) env[key] = value;
    Object.assign(env, {
      STOWAGE_SOCKET: this.socket,
      STOWAGE_STATE_DIR: this.stateDir,
      STOWAGE_LOCAL_ROOT: this.localRoot,
      STOWAGE_LOG_LEVEL: this.options.logLevel ?? 'debug',
      // No Docker engine to ask unless the test names its own: never a system engine that runs other containers.
      STOWAGE_DOCKER_API: 'off',
      ...this.options.env,
    });
    const fd = openSync(this.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, [this.options.cli, 'serve'], { env, stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd);
    }
    this.child = child;
    this.exit = undefined;
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (this.child !== child) return;
      this.exit = { code, signal };
      for (const waiter of this.exitWaiters.splice(0)) waiter(this.exit);
    };
    child.once('exit', onExit);
    child.once('error', () => onExit(null, null));

    let lastAnswer: PluginAnswer | undefined;
    try {
      await waitUntil(
        `the plugin to answer /VolumeDriver.Capabilities on ${this.socket}`,
        async () => {
          if (this.exit) {
            throw new StopWaiting(
              `the plugin exited at start-up (code ${this.exit.code}, signal ${this.exit.signal})\n` +
                (await logTail(this.logFile)),
            );
          }
          // Not Plugin.Activate: the engine sends that once per Docker engine lifetime, and the plugin takes it as
          // a sign that mounts counted before belong to an engine that has gone.
          lastAnswer = await this.request('VolumeDriver.Capabilities');
          return lastAnswer;
        },
        {
          timeoutMs: this.options.startTimeoutMs ?? START_TIMEOUT_MS,
          intervalMs: 200,
          describe: () => logTail(this.logFile),
        },
      );
    } catch (error) {
      await this.kill().catch(() => undefined);
      throw error;
    }
    const scope = (lastAnswer?.json as { Capabilities?: { Scope?: unknown } } | undefined)?.Capabilities?.Scope;
    if (lastAnswer?.status !== 200 || (scope !== 'local' && scope !== 'global')) {
      await this.kill().catch(() => undefined);
      throw new Error(
        `POST /VolumeDriver.Capabilities answered ${lastAnswer?.status} ${lastAnswer?.text}; expected 200 ` +
          '{"Capabilities":{"Scope":"local" or "global"}}',
      );
    }
  }

  private async refuseIfSocketTaken(): Promise<void> {
    if (!existsSync(this.socket)) return;
    const answer = await pluginRequest(this.socket, 'VolumeDriver.Capabilities', {}, 2_000).catch(() => undefined);
    if (answer) {
      throw new Error(
        `another process already answers on ${this.socket} (a plugin left running, e.g. \`bash scripts/dev.sh plugin\`, ` +
          'or another e2e run): stop it first, the end-to-end tier needs that socket',
      );
    }
    // A socket file nobody answers on is what a killed plugin leaves behind: the plugin must cope with it.
  }

  private waitForExit(timeoutMs: number): Promise<PluginExit | undefined> {
    if (this.exit) return Promise.resolve(this.exit);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(undefined), timeoutMs);
      this.exitWaiters.push((exit) => {
        clearTimeout(timer);
        resolve(exit);
      });
    });
  }
}
