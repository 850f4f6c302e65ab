import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { CLI_MAIN, PluginProcess, pluginRequest } from './e2e.js';
import { fmt, pool, summarize, table, verdict, type LatencySummary } from './stats.js';

export interface PluginAloneOptions {
  /** Volume counts to measure at, ascending; the same plugin grows from one to the next. */
  readonly sizes: readonly number[];
  /** Seconds of each timed load (Get and Mount/Unmount, at each concurrency). */
  readonly seconds: number;
  /** Connections of the loaded runs; the latency runs use one (as one engine call at a time would). */
  readonly connections: number;
  /** How many List requests to time at each size (one connection). */
  readonly listRequests: number;
  readonly createConcurrency: number;
  /** Where to write the plugin's CPU profile (`node --cpu-prof`); no profiling when undefined. */
  readonly profileDir?: string;
  /** Which loads to run at each size (all by default); one alone makes a profile of that load only. */
  readonly loads?: ReadonlySet<PluginLoad>;
  readonly log: (line: string) => void;
}

/** One timed load: which request, how many at once, and what came of it. Latencies in milliseconds. */
export interface LoadFigure {
  readonly op: string;
  readonly volumes: number;
  readonly connections: number;
  readonly requests: number;
  readonly seconds: number;
  readonly rps: number;
  readonly latency: LatencySummary;
  /** Answers that were not 200 with an empty `Err`, plus socket errors and timeouts. */
  readonly failures: number;
  /** The plugin's highest VmRSS sampled during this load (MiB): which load sets the peak. */
  readonly peakRssMiB: number;
}

export interface SizeFigures {
  readonly volumes: number;
  /** Creating the volumes added at this size, through the protocol (`createConcurrency` at once). */
  readonly create: { readonly count: number; readonly seconds: number; readonly perSecond: number };
  /** VmRSS right after the creates, and the highest VmRSS sampled during this size's loads. */
  readonly rssMiB: { readonly afterCreate: number; readonly peakDuringLoad: number; readonly hwm: number };
  readonly loads: LoadFigure[];
}

/** The loads of the plugin-alone bench. */
export const PLUGIN_LOADS = ['get', 'list', 'mount'] as const;
export type PluginLoad = (typeof PLUGIN_LOADS)[number];

export interface PluginAloneResult {
  /** VmRSS of the plugin idle right after it started, before any volume (MiB). */
  readonly startRssMiB: number;
  readonly sizes: SizeFigures[];
  readonly targets: Array<{
    readonly name: string;
    readonly target: string;
    readonly value: string;
    readonly met: boolean;
  }>;
  readonly profile?: string;
}

const HEADERS = { Accept: 'application/vnd.docker.plugins.v1.2+json' };

/** `VmRSS` and `VmHWM` of a process, in MiB, from /proc/<pid>/status. */
function memoryOf(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}

export function volumeName(index: number): string {
  return `bench-${String(index).padStart(6, '0')}`;
}

export interface RequestSpec {
  readonly path: string;
  /** The body of the next request; `context` is per connection and lasts one pass over the request list. */
  readonly body: (context: Record<string, unknown>) => unknown;
}

/**
 * Runs autocannon over the plugin's unix socket. Its own histograms keep whole milliseconds only, so every answer's
 * latency (hrtime, in ms) is collected here instead, per endpoint.
 */
export async function load(
  socket: string,
  specs: readonly RequestSpec[],
  options: { connections: number; seconds?: number; amount?: number },
): Promise<{ rps: number; seconds: number; byPath: Map<string, number[]>; failures: number; requests: number }> {
  const byPath = new Map<string, number[]>(specs.map((s) => [s.path, []]));
  let failures = 0;
  const instance = autocannon({
    url: 'http://localhost',
    socketPath: socket,
    connections: options.connections,
    pipelining: 1,
    timeout: 30,
    ...(options.amount !== undefined ? { amount: options.amount } : { duration: options.seconds ?? 3 }),
    headers: HEADERS,
    method: 'POST',
    requests: specs.map((spec) => ({
      method: 'POST' as const,
      path: spec.path,
      setupRequest: (request: autocannon.Request, context: Record<string, unknown>) => ({
        ...request,
        body: JSON.stringify(spec.body(context)),
      }),
      onResponse: (status: number, body: string) => {
        // Every real answer of these endpoints carries `"Err":""`; anything else is a failure to count.
        if (status !== 200 || !body.includes('"Err":""')) failures += 1;
      },
    })),
  } as autocannon.Options) as unknown as Promise<autocannon.Result> & NodeJS.EventEmitter;
  // Without a callback autocannon returns its tracker, an event emitter that is also a promise of the result.
  instance.on('response', (client: unknown, _status: number, _bytes: number, responseTime: number) => {
    const path = (client as { requestIterator?: { currentRequest?: { path?: string } } }).requestIterator
      ?.currentRequest?.path;
    const samples = path === undefined ? undefined : byPath.get(path);
    if (samples) samples.push(responseTime);
  });
  const result = await instance;
  const requests = result.requests.total;
  const seconds = result.duration;
  failures += result.errors + result.timeouts;
  return { rps: requests / seconds, seconds, byPath, failures, requests };
}

/**
 * The plugin under `node --cpu-prof` (Node 20 refuses that flag in NODE_OPTIONS, so PluginProcess cannot pass it):
 * the same CLI and settings, its own temp directories; the profile is written when it exits on SIGTERM.
 */
export class ProfiledPlugin {
  private constructor(
    private readonly child: ChildProcess,
    private readonly baseDir: string,
  ) {}

  get pid(): number | undefined {
    return this.child.pid;
  }

  static async start(socket: string, profileDir: string): Promise<ProfiledPlugin> {
    const baseDir = await mkdtemp('/tmp/stowage-bench-plugin-');
    const env: NodeJS.ProcessEnv = {};
    for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('STOWAGE_')) env[key] = value;
    Object.assign(env, {
      STOWAGE_SOCKET: socket,
      STOWAGE_STATE_DIR: join(baseDir, 'state'),
      STOWAGE_LOCAL_ROOT: join(baseDir, 'volumes'),
      STOWAGE_LOG_LEVEL: 'warn',
      STOWAGE_DRIVERS: 'local',
    });
    const child = spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, CLI_MAIN, 'serve'], {
      env,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const plugin = new ProfiledPlugin(child, baseDir);
    for (let i = 0; i < 150; i += 1) {
      const answer = await pluginRequest(socket, 'Plugin.Activate', {}, 1_000).catch(() => undefined);
      if (answer?.status === 200) return plugin;
      if (child.exitCode !== null) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await plugin.dispose();
    throw new Error('the profiled plugin did not answer /Plugin.Activate within 30 s');
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    await exited;
  }

  async dispose(): Promise<void> {
    await this.stop();
    await rm(this.baseDir, { recursive: true, force: true });
  }
}

export function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)] as T;
}

/**
 * The plugin alone: the built CLI (`stowage serve`, local driver only) on a socket of its own, grown to each size
 * through `VolumeDriver.Create`, then timed on Get (random existing names), List and Mount/Unmount pairs.
 */
export async function benchPluginAlone(options: PluginAloneOptions): Promise<PluginAloneResult> {
  const { log } = options;
  const socketDir = await mkdtemp('/tmp/stowage-bench-sock-');
  const socket = join(socketDir, 'plugin.sock');
  const plugin = options.profileDir
    ? await ProfiledPlugin.start(socket, options.profileDir)
    : await PluginProcess.start({ label: 'bench-alone', socket, logLevel: 'warn', env: { STOWAGE_DRIVERS: 'local' } });
  const pid = plugin.pid as number;
  await new Promise((resolve) => setTimeout(resolve, 500));
  const startRssMiB = memoryOf(pid).rss;
  log(`  plugin started (pid ${pid}), RSS ${fmt(startRssMiB)} MiB`);
  const names: string[] = [];
  const sizes: SizeFigures[] = [];
  try {
    for (const size of options.sizes) {
      // Grow to `size` volumes.
      const toCreate = Array.from({ length: size - names.length }, (_, i) => volumeName(names.length + i));
      const started = performance.now();
      await pool(toCreate, options.createConcurrency, async (name) => {
        const answer = await pluginRequest(socket, 'VolumeDriver.Create', { Name: name, Opts: {} }, 60_000);
        if (answer.status !== 200 || (answer.json as { Err?: string } | undefined)?.Err) {
          throw new Error(`Create ${name} answered ${answer.status} ${answer.text}`);
        }
      });
      const createSeconds = (performance.now() - started) / 1000;
      names.push(...toCreate);
      const listed = await pluginRequest(socket, 'VolumeDriver.List', {}, 60_000);
      const count = ((listed.json as { Volumes?: unknown[] } | undefined)?.Volumes ?? []).length;
      if (count !== size) throw new Error(`List answered ${count} volumes, expected ${size}`);
      const afterCreate = memoryOf(pid).rss;
      log(
        `  ${fmt(size)} volumes: created ${fmt(toCreate.length)} in ${fmt(createSeconds)} s, RSS ${fmt(afterCreate)} MiB`,
      );

      let peak = afterCreate;
      let windowPeak = afterCreate;
      const sampler = setInterval(() => {
        const { rss } = memoryOf(pid);
        peak = Math.max(peak, rss);
        windowPeak = Math.max(windowPeak, rss);
      }, 50);
      /** Starts the memory window of the next recorded load. */
      const startWindow = (): void => {
        windowPeak = memoryOf(pid).rss;
      };
      const loads: LoadFigure[] = [];
      const record = (
        op: string,
        connections: number,
        run: Awaited<ReturnType<typeof load>>,
        path: string,
        rpsShare = 1,
      ): void => {
        const samples = run.byPath.get(path) ?? [];
        loads.push({
          op,
          volumes: size,
          connections,
          requests: samples.length,
          seconds: run.seconds,
          rps: run.rps * rpsShare,
          latency: summarize(samples),
          failures: run.failures,
          peakRssMiB: Math.max(windowPeak, memoryOf(pid).rss),
        });
      };
      const runs = (which: PluginLoad): boolean => options.loads === undefined || options.loads.has(which);
      try {
        const get: RequestSpec = { path: '/VolumeDriver.Get', body: () => ({ Name: pick(names) }) };
        if (runs('get')) {
          // Warm-up, not recorded: the first size would otherwise time V8's JIT and the first heap growth.
          await load(socket, [get], { connections: options.connections, seconds: 1 });
          for (const connections of [1, options.connections]) {
            startWindow();
            record('Get', connections, await load(socket, [get], { connections, seconds: options.seconds }), get.path);
          }
        }
        const list: RequestSpec = { path: '/VolumeDriver.List', body: () => ({}) };
        if (runs('list')) {
          startWindow();
          record('List', 1, await load(socket, [list], { connections: 1, amount: options.listRequests }), list.path);
        }

        let id = 0;
        const mount: RequestSpec = {
          path: '/VolumeDriver.Mount',
          body: (context) => {
            context.name = pick(names);
            context.id = `bench-${process.pid}-${(id += 1)}`;
            return { Name: context.name, ID: context.id };
          },
        };
        const unmount: RequestSpec = {
          path: '/VolumeDriver.Unmount',
          body: (context) => ({ Name: context.name, ID: context.id }),
        };
        if (runs('mount')) {
          await load(socket, [mount, unmount], { connections: options.connections, seconds: 1 });
          for (const connections of [1, options.connections]) {
            startWindow();
            const run = await load(socket, [mount, unmount], { connections, seconds: options.seconds });
            // Requests per second counts both halves: a pair is two requests.
            record('Mount', connections, run, mount.path, 0.5);
            record('Unmount', connections, run, unmount.path, 0.5);
          }
        }
      } finally {
        clearInterval(sampler);
      }
      const { hwm } = memoryOf(pid);
      sizes.push({
        volumes: size,
        create: { count: toCreate.length, seconds: createSeconds, perSecond: toCreate.length / createSeconds },
        rssMiB: { afterCreate, peakDuringLoad: peak, hwm },
        loads,
      });
    }
  } finally {
    await plugin.stop().catch((error: Error) => log(`  stopping the plugin: ${error.message}`));
    await plugin.dispose().catch((error: Error) => log(`  disposing of the plugin: ${error.message}`));
    await rm(socketDir, { recursive: true, force: true });
  }
  let profile: string | undefined;
  if (options.profileDir) {
    const profiles = (await readdir(options.profileDir)).filter((f) => f.endsWith('.cpuprofile')).sort();
    if (profiles.length > 0) profile = join(options.profileDir, profiles[profiles.length - 1] as string);
  }

  const largest = sizes[sizes.length - 1];
  const targets: PluginAloneResult['targets'] = [];
  if (largest) {
    const at = `at ${fmt(largest.volumes)} volumes`;
    const get1 = largest.loads.find((l) => l.op === 'Get' && l.connections === 1);
    const list = largest.loads.find((l) => l.op === 'List');
    if (get1)
      targets.push({
        name: `Get p99, 1 connection, ${at}`,
        target: '< 2 ms',
        value: `${fmt(get1.latency.p99)} ms`,
        met: get1.latency.p99 < 2,
      });
    const getN = largest.loads.find((l) => l.op === 'Get' && l.connections !== 1);
    if (getN) {
      targets.push({
        name: `Get p99, ${getN.connections} connections, ${at}`,
        target: '< 2 ms',
        value: `${fmt(getN.latency.p99)} ms`,
        met: getN.latency.p99 < 2,
      });
    }
    if (list)
      targets.push({
        name: `List p50 (p99), ${at}`,
        target: '< 50 ms',
        value: `${fmt(list.latency.p50)} ms (${fmt(list.latency.p99)} ms)`,
        met: list.latency.p50 < 50,
      });
    const peak = Math.max(largest.rssMiB.peakDuringLoad, largest.rssMiB.hwm);
    targets.push({
      name: `resident memory (peak VmRSS/VmHWM), ${at}`,
      target: '< 150 MiB',
      value: `${fmt(peak)} MiB`,
      met: peak < 150,
    });
  }
  return { startRssMiB, sizes, targets, ...(profile ? { profile } : {}) };
}

export function printPluginAlone(result: PluginAloneResult, print: (text: string) => void): void {
  print('\nPlugin alone: local driver, unix socket, autocannon (latencies in ms, measured per request with hrtime)');
  const rows = result.sizes.flatMap((size) =>
    size.loads.map((l) => [
      fmt(size.volumes),
      l.op,
      String(l.connections),
      fmt(l.requests),
      fmt(l.op === 'Mount' || l.op === 'Unmount' ? l.rps : l.rps),
      fmt(l.latency.p50),
      fmt(l.latency.p90),
      fmt(l.latency.p99),
      fmt(l.latency.max),
      String(l.failures),
      fmt(l.peakRssMiB),
    ]),
  );
  print(
    table(
      ['volumes', 'request', 'conns', 'answers', 'req/s', 'p50', 'p90', 'p99', 'max', 'failures', 'peak RSS MiB'],
      rows,
    ),
  );
  print('(Mount and Unmount run as pairs; their req/s is pairs per second.)');
  print(`\nplugin idle after start, no volumes: RSS ${fmt(result.startRssMiB)} MiB`);
  print(
    table(
      ['volumes', 'created', 'create s', 'creates/s', 'RSS after create MiB', 'peak RSS under load MiB', 'VmHWM MiB'],
      result.sizes.map((s) => [
        fmt(s.volumes),
        fmt(s.create.count),
        fmt(s.create.seconds),
        fmt(s.create.perSecond),
        fmt(s.rssMiB.afterCreate),
        fmt(s.rssMiB.peakDuringLoad),
        fmt(s.rssMiB.hwm),
      ]),
    ),
  );
  print('');
  print(
    table(
      ['target', 'wanted', 'measured', 'verdict'],
      result.targets.map((t) => [t.name, t.target, t.value, verdict(t.met)]),
    ),
  );
  if (result.profile) print(`plugin CPU profile: ${result.profile}`);
}
