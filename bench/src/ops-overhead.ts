import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, PluginProcess, pluginRequest, waitUntil } from './e2e.js';
import { load, pick, volumeName, type RequestSpec } from './plugin-alone.js';
import { cpuMs } from './process-cpu.js';
import { fmt, median, pool, summarize, table, type LatencySummary } from './stats.js';

/**
 * Issue 13's done-when: the plugin socket's figures with the HTTP ops server on and scraped every second, against
 * the same plugin with it off. Two plugins (local driver, temp sockets, the same volumes) run side by side, one with
 * `STOWAGE_HTTP_LISTEN` and a token file, one without; the plugin-alone loads run on one, then the other, in ABBA
 * order (off, on, on, off, off, on...), so the machine's drift (it is shared) weighs on both alike. While a load runs
 * on the "on" plugin, a scraper here fetches its /metrics every second with the token, as Prometheus would.
 */
export interface OpsOverheadOptions {
  readonly volumes: number;
  /** Seconds of each timed load. */
  readonly seconds: number;
  readonly connections: number;
  readonly listRequests: number;
  /** Pairs of runs; the order alternates off-on, on-off. */
  readonly rounds: number;
  /** What the "on" plugin does: see {@link OpsOnMode}. */
  readonly on: OpsOnMode;
  readonly log: (line: string) => void;
}

type Mode = 'off' | 'on';

/**
 * The "on" plugin of a run: `scraped` (the question asked: server on, /metrics fetched every second), `listening`
 * (server on, never scraped during the loads: what the server and the request metrics cost without the scrapes) or
 * `off` (a control: both plugins alike, so the ratios show what the bench and the machine alone make of two plugins).
 */
export const OPS_ON_MODES = ['scraped', 'listening', 'off'] as const;
export type OpsOnMode = (typeof OPS_ON_MODES)[number];

export interface OpsLoadFigure {
  readonly op: string;
  readonly connections: number;
  readonly rps: number;
  readonly latency: LatencySummary;
  readonly failures: number;
  /**
   * The plugin's CPU time (all threads) over the load, per request answered (µs): it moves less with the machine's
   * load than latency does, and in the "on" runs it includes the scrapes'.
   */
  readonly cpuUsPerRequest: number;
}

export interface ScrapeFigures {
  /** Milliseconds per /metrics fetch (answer read whole). */
  readonly latency: LatencySummary;
  readonly failures: number;
  readonly bytes: number;
}

export interface OpsRun {
  readonly mode: Mode;
  readonly loads: OpsLoadFigure[];
  readonly scrapes?: ScrapeFigures;
}

export interface OpsRatio {
  readonly op: string;
  readonly connections: number;
  readonly off: ModeFigures;
  readonly on: ModeFigures;
  /** on / off of the medians over the runs. */
  readonly ratio: ModeFigures;
}

/** Medians over the runs of one mode. */
export interface ModeFigures {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly cpuUsPerRequest: number;
}

export interface OpsOverheadResult {
  readonly volumes: number;
  readonly on: OpsOnMode;
  readonly order: Mode[];
  readonly runs: OpsRun[];
  readonly ratios: OpsRatio[];
  /** Every scrape of every "on" run. */
  readonly scrape: ScrapeFigures & { readonly count: number };
  /**
   * Requests counted by the "on" plugin's own metrics at the end (Get, ok): proof the scraped series moved.
   * Undefined when the "on" plugin is `off`.
   */
  readonly scrapedGetRequests?: number;
  /** The "on" plugin's CPU time per scrape (ms), over scrapes in a row with no other load; undefined when `off`. */
  readonly cpuMsPerScrape?: number;
}

/** Fetches `url` every second until stopped; each fetch timed to the last byte of the answer. */
function startScraper(
  url: string,
  token: string,
): { stop(): Promise<{ samples: number[]; failures: number; bytes: number }> } {
  const samples: number[] = [];
  let failures = 0;
  let bytes = 0;
  const stopping = new AbortController();
  const loop = (async () => {
    while (!stopping.signal.aborted) {
      const started = performance.now();
      try {
        const answer = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
        const text = await answer.text();
        if (answer.status === 200) {
          samples.push(performance.now() - started);
          bytes = text.length;
        } else failures += 1;
      } catch {
        failures += 1;
      }
      const wait = 1000 - (performance.now() - started);
      if (wait > 0) await sleep(wait, undefined, { signal: stopping.signal }).catch(() => undefined);
    }
  })();
  return {
    async stop() {
      stopping.abort();
      await loop;
      return { samples, failures, bytes };
    },
  };
}

/**
 * Checks that the "on" plugin counted the Gets it served, then times what one scrape costs it: a few in a row on the
 * otherwise idle plugin.
 */
async function scrapeCosts(
  metricsUrl: string,
  token: string,
  pid: number,
): Promise<{ scrapedGetRequests: number; cpuMsPerScrape: number }> {
  const scrape = async (): Promise<string> =>
    (await fetch(metricsUrl, { headers: { authorization: `Bearer ${token}` } })).text();
  const final = await scrape();
  const scrapedGetRequests = Number(
    /^stowage_plugin_requests_total\{endpoint="VolumeDriver.Get",outcome="ok"\} (\d+)$/m.exec(final)?.[1] ?? 0,
  );
  if (!(scrapedGetRequests > 0)) throw new Error(`the "on" plugin's /metrics counted no Get:\n${final.slice(0, 2000)}`);
  const scrapesInARow = 20;
  const cpuBefore = cpuMs(pid);
  for (let i = 0; i < scrapesInARow; i += 1) await scrape();
  return { scrapedGetRequests, cpuMsPerScrape: (cpuMs(pid) - cpuBefore) / scrapesInARow };
}

export async function benchOpsOverhead(options: OpsOverheadOptions): Promise<OpsOverheadResult> {
  const { log } = options;
  const dir = await mkdtemp('/tmp/stowage-bench-ops-');
  const tokenFile = join(dir, 'http-token');
  const token = randomBytes(32).toString('hex');
  await writeFile(tokenFile, `${token}\n`, { mode: 0o600 });
  const listen = `127.0.0.1:${await freePort()}`;
  const metricsUrl = `http://${listen}/metrics`;
  const sockets: Record<Mode, string> = { off: join(dir, 'off.sock'), on: join(dir, 'on.sock') };
  const plugins: Partial<Record<Mode, PluginProcess>> = {};
  const names = Array.from({ length: options.volumes }, (_, i) => volumeName(i));
  try {
    plugins.off = await PluginProcess.start({
      label: 'bench-ops-off',
      socket: sockets.off,
      logLevel: 'warn',
      env: { STOWAGE_DRIVERS: 'local' },
    });
    plugins.on = await PluginProcess.start({
      label: 'bench-ops-on',
      socket: sockets.on,
      logLevel: 'warn',
      env: {
        STOWAGE_DRIVERS: 'local',
        ...(options.on === 'off' ? {} : { STOWAGE_HTTP_LISTEN: listen, STOWAGE_HTTP_TOKEN_FILE: tokenFile }),
      },
    });
    // The ops server starts right after the socket, which is what PluginProcess waited for.
    if (options.on !== 'off') {
      await waitUntil(
        `the "on" plugin's ${metricsUrl}`,
        async () =>
          (await fetch(metricsUrl, { headers: { authorization: `Bearer ${token}` } })).ok ? true : undefined,
        { timeoutMs: 30_000 },
      );
    }
    for (const mode of ['off', 'on'] as const) {
      await pool(names, 4, async (name) => {
        const answer = await pluginRequest(sockets[mode], 'VolumeDriver.Create', { Name: name, Opts: {} }, 60_000);
        if (answer.status !== 200 || (answer.json as { Err?: string } | undefined)?.Err) {
          throw new Error(`Create ${name} (${mode}) answered ${answer.status} ${answer.text}`);
        }
      });
    }
    log(`  two plugins (HTTP ops server off; ${options.on} at ${listen}), ${fmt(options.volumes)} volumes each`);

    const get: RequestSpec = { path: '/VolumeDriver.Get', body: () => ({ Name: pick(names) }) };
    const list: RequestSpec = { path: '/VolumeDriver.List', body: () => ({}) };
    let id = 0;
    const mount: RequestSpec = {
      path: '/VolumeDriver.Mount',
      body: (context) => {
        context.name = pick(names);
        context.id = `bench-ops-${(id += 1)}`;
        return { Name: context.name, ID: context.id };
      },
    };
    const unmount: RequestSpec = {
      path: '/VolumeDriver.Unmount',
      body: (context) => ({ Name: context.name, ID: context.id }),
    };
    const seconds = options.seconds;
    const n = options.connections;

    // Warm-up of every load on both plugins, not recorded (JIT, first heap growth).
    for (const mode of ['off', 'on'] as const) {
      await load(sockets[mode], [get], { connections: n, seconds: 1 });
      await load(sockets[mode], [list], { connections: 1, amount: 3 });
      await load(sockets[mode], [mount, unmount], { connections: n, seconds: 1 });
    }

    const order: Mode[] = [];
    for (let round = 0; round < options.rounds; round += 1)
      order.push(...((round % 2 === 0 ? ['off', 'on'] : ['on', 'off']) as Mode[]));
    const runs: OpsRun[] = [];
    const scrapeSamples: number[] = [];
    let scrapeFailures = 0;
    let scrapeBytes = 0;
    for (const [index, mode] of order.entries()) {
      const socket = sockets[mode];
      const pid = plugins[mode]?.pid as number;
      const scraper = mode === 'on' && options.on === 'scraped' ? startScraper(metricsUrl, token) : undefined;
      const loads: OpsLoadFigure[] = [];
      /** Runs `specs`, with the plugin's CPU time over the run. */
      const timed = async (specs: RequestSpec[], shape: Parameters<typeof load>[2]) => {
        const cpuBefore = cpuMs(pid);
        const run = await load(socket, specs, shape);
        return { ...run, cpuMs: cpuMs(pid) - cpuBefore };
      };
      const record = (
        op: string,
        connections: number,
        run: Awaited<ReturnType<typeof timed>>,
        path: string,
        share = 1,
      ) =>
        loads.push({
          op,
          connections,
          rps: run.rps * share,
          latency: summarize(run.byPath.get(path) ?? []),
          failures: run.failures,
          cpuUsPerRequest: (run.cpuMs * 1000) / run.requests,
        });
      try {
        record('Get', 1, await timed([get], { connections: 1, seconds }), get.path);
        record('Get', n, await timed([get], { connections: n, seconds }), get.path);
        record('List', 1, await timed([list], { connections: 1, amount: options.listRequests }), list.path);
        const pairs = await timed([mount, unmount], { connections: n, seconds });
        record('Mount', n, pairs, mount.path, 0.5);
        record('Unmount', n, pairs, unmount.path, 0.5);
      } finally {
        const scraped = await scraper?.stop();
        if (scraped) {
          scrapeSamples.push(...scraped.samples);
          scrapeFailures += scraped.failures;
          scrapeBytes = Math.max(scrapeBytes, scraped.bytes);
        }
        runs.push({
          mode,
          loads,
          ...(scraped
            ? { scrapes: { latency: summarize(scraped.samples), failures: scraped.failures, bytes: scraped.bytes } }
            : {}),
        });
      }
      const getN = loads.find((l) => l.op === 'Get' && l.connections === n);
      log(`  run ${index + 1}/${order.length} (${mode}): Get x${n} ${fmt(getN?.rps ?? Number.NaN)} req/s`);
    }

    const served = options.on === 'off' ? undefined : await scrapeCosts(metricsUrl, token, plugins.on.pid as number);

    const ratios: OpsRatio[] = [];
    for (const { op, connections } of runs[0]?.loads ?? []) {
      const figures = (mode: Mode): ModeFigures => {
        const of = (value: (load: OpsLoadFigure) => number): number =>
          median(
            runs
              .filter((run) => run.mode === mode)
              .map((run) => run.loads.find((l) => l.op === op && l.connections === connections))
              .filter((l): l is OpsLoadFigure => l !== undefined)
              .map(value),
          );
        return {
          rps: of((l) => l.rps),
          p50: of((l) => l.latency.p50),
          p99: of((l) => l.latency.p99),
          cpuUsPerRequest: of((l) => l.cpuUsPerRequest),
        };
      };
      const off = figures('off');
      const on = figures('on');
      ratios.push({
        op,
        connections,
        off,
        on,
        ratio: {
          rps: on.rps / off.rps,
          p50: on.p50 / off.p50,
          p99: on.p99 / off.p99,
          cpuUsPerRequest: on.cpuUsPerRequest / off.cpuUsPerRequest,
        },
      });
    }
    return {
      volumes: options.volumes,
      on: options.on,
      order,
      runs,
      ratios,
      scrape: {
        count: scrapeSamples.length,
        latency: summarize(scrapeSamples),
        failures: scrapeFailures,
        bytes: scrapeBytes,
      },
      ...served,
    };
  } finally {
    for (const plugin of Object.values(plugins)) {
      await plugin?.dispose().catch((error: Error) => log(`  disposing of a plugin: ${error.message}`));
    }
    await rm(dir, { recursive: true, force: true });
  }
}

const ON_LABEL: Record<OpsOnMode, string> = {
  scraped: 'scraped every second',
  listening: 'listening, not scraped during the loads',
  off: 'control: "on" is off too',
};

export function printOpsOverhead(result: OpsOverheadResult, print: (text: string) => void): void {
  print(
    `\nPlugin socket with the HTTP ops server off and on (${ON_LABEL[result.on]}), ${fmt(result.volumes)} volumes; ` +
      `runs in the order ${result.order.join(' ')}; medians over the runs of each mode (latencies in ms)`,
  );
  print(
    table(
      [
        'request',
        'conns',
        'req/s off',
        'req/s on',
        'on/off',
        'p50 off',
        'p50 on',
        'on/off',
        'p99 off',
        'p99 on',
        'on/off',
        'CPU µs/req off',
        'on',
        'on/off',
      ],
      result.ratios.map((r) => [
        r.op,
        String(r.connections),
        fmt(r.off.rps),
        fmt(r.on.rps),
        fmt(r.ratio.rps),
        fmt(r.off.p50),
        fmt(r.on.p50),
        fmt(r.ratio.p50),
        fmt(r.off.p99),
        fmt(r.on.p99),
        fmt(r.ratio.p99),
        fmt(r.off.cpuUsPerRequest),
        fmt(r.on.cpuUsPerRequest),
        fmt(r.ratio.cpuUsPerRequest),
      ]),
    ),
  );
  print(
    "(Mount and Unmount run as pairs; their req/s is pairs per second, their CPU is per request of the pair. CPU: the plugin process's, all threads, from /proc/PID/task/*/schedstat, scrapes included in the on runs.)",
  );
  const failures = result.runs.reduce((sum, run) => sum + run.loads.reduce((s, l) => s + l.failures, 0), 0);
  print(`socket answers that failed, all runs: ${failures}`);
  const { latency } = result.scrape;
  if (result.on === 'scraped') {
    print(
      `scrapes of /metrics during the "on" runs: ${result.scrape.count} (${result.scrape.failures} failed), ` +
        `${fmt(result.scrape.bytes / 1024)} KiB each; p50 ${fmt(latency.p50)} ms, p99 ${fmt(latency.p99)} ms, ` +
        `max ${fmt(latency.max)} ms`,
    );
  }
  if (result.scrapedGetRequests !== undefined && result.cpuMsPerScrape !== undefined) {
    print(
      `Get requests the "on" plugin's counter shows at the end: ${fmt(result.scrapedGetRequests)}; one scrape costs ` +
        `it ${fmt(result.cpuMsPerScrape)} ms of CPU (scrapes in a row, no other load): ` +
        `${fmt(result.cpuMsPerScrape / 10)}% of a core at one a second`,
    );
  }
}
