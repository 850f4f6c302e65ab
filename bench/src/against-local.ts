import { request } from 'node:http';
import { DEFAULT_PLUGIN_SOCKET, DockerEngine, PluginProcess, importBusyboxImage, pluginRequest } from './e2e.js';
import { NULL_DRIVER, NULL_PLUGIN_SOCKET } from './null-plugin.js';
import { NullPluginChild } from './null-plugin-child.js';
import { fmt, median, pool, table, verdict } from './stats.js';

export interface AgainstLocalOptions {
  /** Cycles per driver of create/inspect/rm (CLI; four times as many through the API). */
  readonly cycles: number;
  /** Cycles per driver of container starts. */
  readonly runCycles: number;
  /** Volumes of each driver for the `docker volume ls` figures, ascending. */
  readonly lsSizes: readonly number[];
  /** Timed `docker volume ls` runs per driver at each size. */
  readonly lsRounds: number;
  readonly log: (line: string) => void;
}

/** One operation timed on both drivers, interleaved; milliseconds. */
export interface PairedFigure {
  readonly op: string;
  readonly stowage: number[];
  readonly local: number[];
  readonly medianStowage: number;
  readonly medianLocal: number;
  /** The median of the per-cycle ratios stowage/local (each cycle times both drivers back to back). */
  readonly medianRatio: number;
  /** median(stowage) / median(local). */
  readonly ratioOfMedians: number;
  readonly target?: number;
}

export interface AgainstLocalResult {
  readonly engineVersion: string;
  readonly figures: PairedFigure[];
  readonly populate: Array<{
    readonly driver: string;
    readonly volumes: number;
    readonly seconds: number;
    readonly how: string;
  }>;
  readonly notes: string[];
}

const DRIVERS = ['stowage', 'local'] as const;
type Driver = (typeof DRIVERS)[number];
/**
 * Issue 11's targets for Stowage's own share, measured against the plugin that does nothing in the same cycles:
 * each engine-API create, inspect and rm, and a container start (whose fixed cost, starting a container, dilutes
 * the plugin's share, hence the tighter figure).
 */
const STOWAGE_OVER_NULL_API = 1.3;
const STOWAGE_OVER_NULL_RUN = 1.02;

/** One call to the engine's HTTP API on its unix socket; resolves with the status and body. */
function engineApi(
  socket: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; text: string }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath: socket,
        method,
        path,
        headers: payload ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) } : {},
        timeout: 120_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer`)));
    req.on('error', reject);
    req.end(payload);
  });
}

async function apiOk(socket: string, method: string, path: string, body?: unknown): Promise<string> {
  const answer = await engineApi(socket, method, path, body);
  if (answer.status >= 300) throw new Error(`${method} ${path} answered ${answer.status}: ${answer.text.trim()}`);
  return answer.text;
}

async function timed(what: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await what();
  return performance.now() - started;
}

function paired(op: string, stowage: number[], local: number[], target?: number): PairedFigure {
  const ratios = stowage.map((s, i) => s / (local[i] as number));
  return {
    op,
    stowage,
    local,
    medianStowage: median(stowage),
    medianLocal: median(local),
    medianRatio: median(ratios),
    ratioOfMedians: median(stowage) / median(local),
    ...(target !== undefined ? { target } : {}),
  };
}

/** What Stowage adds over the plugin that does nothing, from the medians: its own time in the operation. */
function ownShare(op: string, stowage: readonly number[], nothing: readonly number[]): string {
  const own = median(stowage) - median(nothing);
  return `${op}: Stowage ${fmt(median(stowage))} ms, the plugin that does nothing ${fmt(median(nothing))} ms, Stowage's own share ${fmt(own)} ms`;
}

/** The order of the two drivers in cycle `i`: alternated (A B, B A, ...), so neither always goes first. */
function orderOf(i: number): readonly Driver[] {
  return i % 2 === 0 ? DRIVERS : [...DRIVERS].reverse();
}

/** The same for three: each one first, second and third in turn, each rotation also run backwards. */
function orderOf3<T>(items: readonly [T, T, T], i: number): readonly T[] {
  const shift = i % 3;
  const rotated = [...items.slice(shift), ...items.slice(0, shift)];
  return Math.floor(i / 3) % 2 === 0 ? rotated : rotated.reverse();
}

/**
 * Stowage against Docker's built-in `local` driver on one private engine (the e2e tier's: own data root, busybox
 * image from busybox-static) with the built plugin on /run/docker/plugins/stowage.sock, every figure interleaved.
 */
export async function benchAgainstLocal(options: AgainstLocalOptions): Promise<AgainstLocalResult> {
  const { log, cycles, runCycles } = options;
  const engine = await DockerEngine.start({ label: 'bench' });
  let plugin: PluginProcess | undefined;
  let nullPlugin: NullPluginChild | undefined;
  const stopAll = async (): Promise<void> => {
    await engine.stop().catch((error: Error) => log(`  stopping the engine: ${error.message}`));
    await plugin?.dispose().catch((error: Error) => log(`  stopping the plugin: ${error.message}`));
    await nullPlugin?.stop().catch((error: Error) => log(`  stopping the null plugin: ${error.message}`));
  };
  const onSignal = (): void => {
    log('interrupted: stopping the engine and the plugin');
    void stopAll().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const figures: PairedFigure[] = [];
  const populate: AgainstLocalResult['populate'] = [];
  const notes: string[] = [];
  try {
    const image = await importBusyboxImage(engine);
    plugin = await PluginProcess.start({
      label: 'bench-docker',
      socket: DEFAULT_PLUGIN_SOCKET,
      logLevel: 'warn',
      env: { STOWAGE_DRIVERS: 'local' },
    });
    nullPlugin = await NullPluginChild.start(NULL_PLUGIN_SOCKET);
    const engineVersion = (await engine.dockerOk(['version', '--format', '{{.Server.Version}}'])).trim();
    const api = engine.socket;
    const cli = async (args: string[]): Promise<string> => engine.dockerOk(args);

    // Warm-up: activates the plugin in the engine and loads every code path once, on both drivers.
    for (const driver of [...DRIVERS, NULL_DRIVER]) {
      await cli(['volume', 'create', '-d', driver, `warm-${driver}`]);
      await cli(['volume', 'inspect', `warm-${driver}`]);
      await cli(['run', '--rm', '-v', `warm-${driver}:/data`, image, 'test', '-d', '/data']);
      await cli(['volume', 'rm', `warm-${driver}`]);
    }

    // create / inspect / rm, through the CLI as a user types them.
    log(`  create/inspect/rm through the CLI, ${cycles} cycles`);
    const cliTimes = {
      create: { stowage: [], local: [] },
      inspect: { stowage: [], local: [] },
      rm: { stowage: [], local: [] },
    } as Record<'create' | 'inspect' | 'rm', Record<Driver, number[]>>;
    for (let i = 0; i < cycles; i += 1) {
      for (const driver of orderOf(i)) {
        const name = `cycle-cli-${driver}-${i}`;
        cliTimes.create[driver].push(await timed(() => cli(['volume', 'create', '-d', driver, name])));
        cliTimes.inspect[driver].push(await timed(() => cli(['volume', 'inspect', name])));
        cliTimes.rm[driver].push(await timed(() => cli(['volume', 'rm', name])));
      }
    }
    for (const op of ['create', 'inspect', 'rm'] as const) {
      figures.push(paired(`docker volume ${op} (CLI)`, cliTimes[op].stowage, cliTimes[op].local, 1.25));
    }

    // The same through the engine's API: no CLI process start, so the drivers' share is not diluted. The plugin that
    // does nothing (null-plugin.ts) runs in the same cycles: the engine makes the same plugin calls for it (Get then
    // Create; Get; Get, Get then Remove), so what Stowage costs over it is Stowage's own time, and what the plugin that
    // does nothing costs over `local` is the engine's price for any plugin volume.
    log(`  create/inspect/rm through the engine API, ${cycles * 4} cycles`);
    const apiDrivers = [...DRIVERS, NULL_DRIVER] as const;
    type ApiDriver = (typeof apiDrivers)[number];
    const noTimes = (): Record<ApiDriver, number[]> => ({ stowage: [], local: [], [NULL_DRIVER]: [] });
    const apiTimes = { create: noTimes(), inspect: noTimes(), rm: noTimes() };
    for (let i = 0; i < cycles * 4; i += 1) {
      for (const driver of orderOf3(apiDrivers, i)) {
        const name = `cycle-api-${driver}-${i}`;
        apiTimes.create[driver].push(
          await timed(() => apiOk(api, 'POST', '/volumes/create', { Name: name, Driver: driver })),
        );
        apiTimes.inspect[driver].push(await timed(() => apiOk(api, 'GET', `/volumes/${name}`)));
        apiTimes.rm[driver].push(await timed(() => apiOk(api, 'DELETE', `/volumes/${name}`)));
      }
    }
    for (const op of ['create', 'inspect', 'rm'] as const) {
      const times = apiTimes[op];
      figures.push(paired(`volume ${op} (engine API)`, times.stowage, times.local));
      figures.push(
        paired('  the same, the plugin that does nothing against local (floor)', times[NULL_DRIVER], times.local),
      );
      figures.push(
        paired(
          '  the same, Stowage against the plugin that does nothing',
          times.stowage,
          times[NULL_DRIVER],
          STOWAGE_OVER_NULL_API,
        ),
      );
      notes.push(ownShare(`volume ${op} (engine API)`, times.stowage, times[NULL_DRIVER]));
    }

    // Container starts: `docker run --rm -v vol:/data IMAGE test -d /data` (the busybox image has no `true` applet), a volume of each driver made beforehand.
    // A third driver, a plugin that does nothing (null-plugin.ts), runs in the same cycles: what it costs over
    // `local` is the engine's own price for any plugin volume, and the rest of Stowage's figure is Stowage's.
    log(`  docker run --rm -v vol:/data, ${runCycles} cycles`);
    const runDrivers = [...DRIVERS, NULL_DRIVER] as const;
    for (const driver of runDrivers) await cli(['volume', 'create', '-d', driver, `run-${driver}`]);
    const runTimes: Record<(typeof runDrivers)[number], number[]> = { stowage: [], local: [], [NULL_DRIVER]: [] };
    for (let i = 0; i < runCycles; i += 1) {
      for (const driver of orderOf3(runDrivers, i)) {
        runTimes[driver].push(
          await timed(() => cli(['run', '--rm', '-v', `run-${driver}:/data`, image, 'test', '-d', '/data'])),
        );
      }
    }
    figures.push(
      paired('docker run --rm -v vol:/data IMAGE test -d /data (CLI)', runTimes.stowage, runTimes.local, 1.05),
    );
    figures.push(
      paired('  the same, a plugin that does nothing against local (floor)', runTimes[NULL_DRIVER], runTimes.local),
    );
    figures.push(
      paired(
        '  the same, Stowage against the plugin that does nothing',
        runTimes.stowage,
        runTimes[NULL_DRIVER],
        STOWAGE_OVER_NULL_RUN,
      ),
    );
    notes.push(ownShare('docker run --rm -v vol:/data', runTimes.stowage, runTimes[NULL_DRIVER]));
    for (const driver of runDrivers) await cli(['volume', 'rm', `run-${driver}`]);

    // docker volume ls: both drivers grown to each size; stowage's volumes through the plugin protocol (the
    // engine learns them from List), local's through the engine API (the CLI would take minutes at 10,000).
    let have = 0;
    for (const size of options.lsSizes) {
      // Docker's volume names are one namespace across drivers: each driver gets its own prefix.
      const numbers = Array.from({ length: size - have }, (_, i) => String(have + i).padStart(6, '0'));
      const prefix = (driver: Driver): string => `ls-${driver}-`;
      const tStowage = await timed(() =>
        pool(numbers, 4, async (n) => {
          const name = `${prefix('stowage')}${n}`;
          const answer = await pluginRequest(
            DEFAULT_PLUGIN_SOCKET,
            'VolumeDriver.Create',
            { Name: name, Opts: {} },
            60_000,
          );
          if (answer.status !== 200 || (answer.json as { Err?: string } | undefined)?.Err)
            throw new Error(`Create ${name}: ${answer.text}`);
        }),
      );
      populate.push({
        driver: 'stowage',
        volumes: numbers.length,
        seconds: tStowage / 1000,
        how: 'VolumeDriver.Create on the plugin socket, 4 at once',
      });
      const tLocal = await timed(() =>
        pool(numbers, 4, (n) =>
          apiOk(api, 'POST', '/volumes/create', { Name: `${prefix('local')}${n}`, Driver: 'local' }).then(
            () => undefined,
          ),
        ),
      );
      populate.push({
        driver: 'local',
        volumes: numbers.length,
        seconds: tLocal / 1000,
        how: 'POST /volumes/create on the engine API, 4 at once',
      });
      have = size;
      log(
        `  ${fmt(size)} volumes per driver (made in ${fmt(tStowage / 1000)} s on stowage, ${fmt(tLocal / 1000)} s on local)`,
      );

      const lsTimes: Record<Driver, number[]> = { stowage: [], local: [] };
      for (let i = 0; i < options.lsRounds; i += 1) {
        for (const driver of orderOf(i)) {
          let out = '';
          lsTimes[driver].push(
            await timed(async () => {
              out = await cli(['volume', 'ls', '-q', '--filter', `driver=${driver}`]);
            }),
          );
          const count = out.split('\n').filter((l) => l.startsWith(prefix(driver))).length;
          if (count !== size)
            throw new Error(
              `docker volume ls --filter driver=${driver} showed ${count} ${prefix(driver)}* volumes, expected ${size}`,
            );
        }
      }
      figures.push(
        paired(`docker volume ls --filter driver=D, ${fmt(size)} each (CLI)`, lsTimes.stowage, lsTimes.local, 1.25),
      );
      const lsApi: Record<Driver, number[]> = { stowage: [], local: [] };
      for (let i = 0; i < options.lsRounds; i += 1) {
        for (const driver of orderOf(i)) {
          const filters = encodeURIComponent(JSON.stringify({ driver: [driver] }));
          lsApi[driver].push(await timed(() => apiOk(api, 'GET', `/volumes?filters=${filters}`)));
        }
      }
      figures.push(paired(`GET /volumes?filters=driver, ${fmt(size)} each (engine API)`, lsApi.stowage, lsApi.local));
      const all: number[] = [];
      for (let i = 0; i < options.lsRounds; i += 1) all.push(await timed(() => cli(['volume', 'ls', '-q'])));
      notes.push(
        `docker volume ls (both drivers, ${fmt(2 * size)} volumes): median ${fmt(median(all))} ms over ${all.length} runs`,
      );
    }
    return { engineVersion, figures, populate, notes };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    log('  stopping the engine and the plugin');
    await stopAll();
  }
}

export function printAgainstLocal(result: AgainstLocalResult, print: (text: string) => void): void {
  print(
    `\nAgainst Docker's built-in local driver: one private engine (dockerd ${result.engineVersion}), interleaved A B / B A, medians in ms`,
  );
  print(
    table(
      ['operation', 'n', 'stowage', 'local', 'ratio', 'ratio of medians', 'target', 'verdict'],
      result.figures.map((f) => [
        f.op,
        String(f.stowage.length),
        fmt(f.medianStowage),
        fmt(f.medianLocal),
        fmt(f.medianRatio),
        fmt(f.ratioOfMedians),
        f.target === undefined ? '-' : `<= ${f.target}`,
        f.target === undefined ? '-' : verdict(f.medianRatio <= f.target),
      ]),
    ),
  );
  print(
    '(ratio: the median of the per-cycle ratios stowage/local; in a row "the same, X against Y" the two columns are X and Y)',
  );
  for (const p of result.populate)
    print(`made ${fmt(p.volumes)} ${p.driver} volumes in ${fmt(p.seconds)} s (${p.how})`);
  for (const note of result.notes) print(note);
}
