import { Agent, request } from 'node:http';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PluginProcess } from './e2e.js';
import { NullPluginChild } from './null-plugin-child.js';
import { cpuMs } from './process-cpu.js';
import { ProfiledPlugin } from './plugin-alone.js';
import { fmt, median, table } from './stats.js';

/**
 * The plugin calls the Docker engine makes for `POST /volumes/create`, `GET /volumes/NAME` and `DELETE /volumes/NAME`
 * (a Get then a Create; a Get; two Gets then a Remove: moby's volume service and store, each of which looks the
 * volume up before a remove), replayed straight on the plugin's socket,
 * on Stowage and on the plugin that does nothing, interleaved. No Docker, no root, no machine-wide socket: it shows
 * the plugins' side of the engine-API figures of the Docker section and, under `--profile`, where Stowage's time
 * goes, while the engine is busy or absent. The engine's own share (its HTTP server, its volume store) is not in
 * these figures, so the ratios are larger than through the engine.
 */
export interface EngineCallsOptions {
  readonly cycles: number;
  /** Where to write Stowage's CPU profile (`node --cpu-prof`); no profiling when undefined. */
  readonly profileDir?: string;
  readonly log: (line: string) => void;
}

export const ENGINE_OPS = ['create', 'inspect', 'start', 'rm'] as const;
type EngineOp = (typeof ENGINE_OPS)[number];

/** The volume the container starts mount, made before the cycles. */
const RUN_VOLUME = 'calls-run';

/** Each engine-API operation as the plugin calls the engine makes for it. */
const CALLS: Record<EngineOp, readonly string[]> = {
  create: ['VolumeDriver.Get', 'VolumeDriver.Create'],
  inspect: ['VolumeDriver.Get'],
  // A container's start and stop: the engine looks the volume up, mounts it, and at the stop looks it up again and
  // unmounts it (DESIGN.md, "What the Docker engine does").
  start: ['VolumeDriver.Get', 'VolumeDriver.Mount', 'VolumeDriver.Get', 'VolumeDriver.Unmount'],
  rm: ['VolumeDriver.Get', 'VolumeDriver.Get', 'VolumeDriver.Remove'],
};

export interface EngineCallFigure {
  readonly op: EngineOp;
  readonly calls: readonly string[];
  readonly stowage: number[];
  readonly nothing: number[];
  readonly medianStowage: number;
  readonly medianNothing: number;
  /** The median of the per-cycle ratios stowage / the plugin that does nothing. */
  readonly medianRatio: number;
  /** Median time of each call of the operation on Stowage, in the order of {@link calls}. */
  readonly perCallStowage: number[];
  readonly perCallNothing: number[];
  /**
   * CPU time per operation (ms, every thread of the process: the event loop and libuv's pool), from a pass of
   * operations of this kind only. Unlike latencies, robust to the machine's load.
   */
  readonly cpuStowage: number;
  readonly cpuNothing: number;
}

export interface EngineCallsResult {
  readonly figures: EngineCallFigure[];
  readonly profile?: string;
}

type Plugin = 'stowage' | 'nothing';

/**
 * One plugin call on a kept-alive connection, as the engine's Go client keeps them (a fresh connection per call
 * would time the connection set-up, the same for both plugins, and dilute the ratio). Resolves with the time taken.
 */
function call(agent: Agent, socket: string, method: string, body: unknown, mayFail: boolean): Promise<number> {
  const payload = JSON.stringify(body);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        socketPath: socket,
        method: 'POST',
        path: `/${method}`,
        headers: { Accept: 'application/vnd.docker.plugins.v1.2+json', 'Content-Length': Buffer.byteLength(payload) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const ms = performance.now() - started;
          const text = Buffer.concat(chunks).toString('utf8');
          const err = (JSON.parse(text) as { Err?: string }).Err ?? '';
          if (res.statusCode !== 200 || (err !== '' && !mayFail)) {
            reject(new Error(`/${method} on ${socket}: ${res.statusCode} ${text}`));
          } else resolve(ms);
        });
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error(`/${method}: no answer`)));
    req.on('error', reject);
    req.end(payload);
  });
}

export async function benchEngineCalls(options: EngineCallsOptions): Promise<EngineCallsResult> {
  const { log, cycles } = options;
  const socketDir = await mkdtemp('/tmp/stowage-bench-calls-');
  const sockets: Record<Plugin, string> = {
    stowage: join(socketDir, 'stowage.sock'),
    nothing: join(socketDir, 'nothing.sock'),
  };
  const stowage = options.profileDir
    ? await ProfiledPlugin.start(sockets.stowage, options.profileDir)
    : await PluginProcess.start({
        label: 'bench-calls',
        socket: sockets.stowage,
        logLevel: 'warn',
        env: { STOWAGE_DRIVERS: 'local' },
      });
  const nothing = await NullPluginChild.start(sockets.nothing);
  const agents: Record<Plugin, Agent> = {
    stowage: new Agent({ keepAlive: true, maxSockets: 1 }),
    nothing: new Agent({ keepAlive: true, maxSockets: 1 }),
  };
  // Per operation, per plugin: the whole operation's time and each call's.
  const times = Object.fromEntries(
    ENGINE_OPS.map((op) => [
      op,
      {
        stowage: { total: [] as number[], calls: CALLS[op].map(() => [] as number[]) },
        nothing: { total: [] as number[], calls: CALLS[op].map(() => [] as number[]) },
      },
    ]),
  ) as Record<EngineOp, Record<Plugin, { total: number[]; calls: number[][] }>>;
  const operation = async (plugin: Plugin, op: EngineOp, cycleName: string, record: boolean): Promise<void> => {
    // As in the Docker section's container starts, a container mounts a volume made long before, not the cycle's.
    const name = op === 'start' ? RUN_VOLUME : cycleName;
    let total = 0;
    for (const [i, method] of CALLS[op].entries()) {
      const body =
        method === 'VolumeDriver.Create'
          ? { Name: name, Opts: {} }
          : method === 'VolumeDriver.Mount' || method === 'VolumeDriver.Unmount'
            ? { Name: name, ID: `container-of-${name}` }
            : { Name: name };
      // The Get before a Create is answered with Err (no such volume yet); every other call must succeed.
      const ms = await call(agents[plugin], sockets[plugin], method, body, op === 'create' && i === 0);
      total += ms;
      if (record) times[op][plugin].calls[i]?.push(ms);
    }
    if (record) times[op][plugin].total.push(total);
  };
  const cycle = async (plugin: Plugin, name: string, record: boolean): Promise<void> => {
    for (const op of ENGINE_OPS) await operation(plugin, op, name, record);
  };
  const pids: Record<Plugin, number> = { stowage: stowage.pid as number, nothing: nothing.pid };
  const cpu = { stowage: {}, nothing: {} } as Record<Plugin, Record<EngineOp, number>>;
  try {
    for (const plugin of ['stowage', 'nothing'] as const)
      await call(agents[plugin], sockets[plugin], 'VolumeDriver.Create', { Name: RUN_VOLUME, Opts: {} }, false);
    // Warm-up, not recorded: JIT, first heap growth, the plugins' first files.
    for (let i = 0; i < 20; i += 1)
      for (const plugin of ['stowage', 'nothing'] as const) await cycle(plugin, `calls-warm-${plugin}-${i}`, false);
    log(
      `  the plugin calls of engine-API create/inspect/rm and of a container start and stop, replayed, ${cycles} cycles`,
    );
    for (let i = 0; i < cycles; i += 1) {
      const order: readonly Plugin[] = i % 2 === 0 ? ['stowage', 'nothing'] : ['nothing', 'stowage'];
      for (const plugin of order) await cycle(plugin, `calls-${plugin}-${i}`, true);
    }
    // CPU per operation: a pass of one kind of operation at a time on each plugin, the CPU it used over the count.
    for (const plugin of ['stowage', 'nothing'] as const) {
      for (const op of ENGINE_OPS) {
        const before = cpuMs(pids[plugin]);
        for (let i = 0; i < cycles; i += 1) await operation(plugin, op, `calls-cpu-${plugin}-${i}`, false);
        cpu[plugin][op] = (cpuMs(pids[plugin]) - before) / cycles;
      }
    }
  } finally {
    for (const agent of Object.values(agents)) agent.destroy();
    await nothing.stop().catch((error: Error) => log(`  stopping the null plugin: ${error.message}`));
    await stowage.dispose().catch((error: Error) => log(`  stopping the plugin: ${error.message}`));
    await rm(socketDir, { recursive: true, force: true });
  }
  const figures = ENGINE_OPS.map((op): EngineCallFigure => {
    const s = times[op].stowage;
    const n = times[op].nothing;
    return {
      op,
      calls: CALLS[op],
      stowage: s.total,
      nothing: n.total,
      medianStowage: median(s.total),
      medianNothing: median(n.total),
      medianRatio: median(s.total.map((v, i) => v / (n.total[i] as number))),
      perCallStowage: s.calls.map(median),
      perCallNothing: n.calls.map(median),
      cpuStowage: cpu.stowage[op],
      cpuNothing: cpu.nothing[op],
    };
  });
  let profile: string | undefined;
  if (options.profileDir) {
    const profiles = (await readdir(options.profileDir)).filter((f) => f.endsWith('.cpuprofile')).sort();
    if (profiles.length > 0) profile = join(options.profileDir, profiles[profiles.length - 1] as string);
  }
  return { figures, ...(profile ? { profile } : {}) };
}

export function printEngineCalls(result: EngineCallsResult, print: (text: string) => void): void {
  print(
    "\nThe plugin calls of engine-API create/inspect/rm and a container start (start), replayed on each plugin's socket without Docker (medians in ms)",
  );
  print(
    table(
      [
        'operation',
        'calls',
        'n',
        'stowage',
        'does nothing',
        'ratio',
        'stowage per call',
        'does nothing per call',
        'CPU stowage',
        'CPU does nothing',
      ],
      result.figures.map((f) => [
        f.op,
        f.calls.map((c) => c.replace('VolumeDriver.', '')).join(' + '),
        String(f.stowage.length),
        fmt(f.medianStowage),
        fmt(f.medianNothing),
        fmt(f.medianRatio),
        f.perCallStowage.map((v) => fmt(v)).join(' + '),
        f.perCallNothing.map((v) => fmt(v)).join(' + '),
        fmt(f.cpuStowage),
        fmt(f.cpuNothing),
      ]),
    ),
  );
  print(
    '(ratio: the median of the per-cycle ratios; CPU: ms per operation, all threads, from a pass of that operation alone;',
  );
  print(" the engine's own time is not in these figures, see the Docker section)");
  if (result.profile) print(`plugin CPU profile: ${result.profile}`);
}
