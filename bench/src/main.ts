/**
 * `pnpm bench`: Stowage's benchmarks (issue 5, "Performance"). Not part of the tests: it prints figures as tables
 * and writes them as JSON under bench/results/.
 *
 *   sudo pnpm bench                    the default run (about 5 minutes on 2 cores)
 *   sudo pnpm bench --quick            a short run with small sizes, to check the harness
 *   options: --only=plugin|docker|calls|cloud|ops  one section only (cloud: EC2 calls on moto; calls: the plugin
 *                                      calls of engine-API create/inspect/rm and of a container start replayed without Docker; neither needs
 *                                      root; ops: the plugin-alone loads with the HTTP ops server off and on, scraped
 *                                      every second, interleaved; only with --only=ops, no Docker, no lock)
 *            --sizes=100,1000,10000    plugin-alone volume counts
 *            --ls-sizes=1000,10000     volumes of each driver for `docker volume ls`
 *            --cycles=30               create/inspect/rm cycles per driver
 *            --run-cycles=90           container-start cycles per driver (a start's own share is a few ms of some
 *                                      250: three times the cycles, so that the median resolves it)
 *            --seconds=4               length of each plugin-alone load
 *            --profile                 run the plugin-alone and calls plugins under `node --cpu-prof` (bench/results/)
 *            --loads=get,list,mount    plugin-alone loads to run (all by default; one alone profiles that load)
 *            --cloud-sizes=100,1000,5000  relocatable volumes at which List's EC2 calls are counted
 *            --mount-sizes=1,10,20     concurrent mounts of as many volumes on one node (EC2 calls counted)
 *            --shared-mounts=100       concurrent mounts of 20 shared volumes on one node (0: none)
 *            --ops-volumes=1000        volumes of each plugin in the ops section
 *            --ops-rounds=4            pairs of runs in the ops section (off on, on off, ...)
 *            --ops-on=scraped          the ops section's "on" plugin: scraped, listening (never scraped) or off
 *                                      (a control: both plugins alike)
 *
 * The Docker half uses the machine-wide plugin socket /run/docker/plugins/stowage.sock, so the whole run holds
 * /tmp/stowage-e2e.lock, the lock the e2e runs take: it waits for them, and they for it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchAgainstLocal, printAgainstLocal, type AgainstLocalResult } from './against-local.js';
import { benchCloudEconomy, printCloudEconomy, type CloudEconomyResult } from './cloud-economy.js';
import { CLI_MAIN } from './e2e.js';
import { benchEngineCalls, printEngineCalls, type EngineCallsResult } from './engine-calls.js';
import {
  benchOpsOverhead,
  OPS_ON_MODES,
  printOpsOverhead,
  type OpsOnMode,
  type OpsOverheadResult,
} from './ops-overhead.js';
import {
  benchPluginAlone,
  PLUGIN_LOADS,
  printPluginAlone,
  type PluginAloneResult,
  type PluginLoad,
} from './plugin-alone.js';

const LOCK_FILE = '/tmp/stowage-e2e.lock';
const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

const SECTIONS = ['plugin', 'docker', 'calls', 'cloud', 'ops'] as const;
/** Sections a plain `pnpm bench` leaves out: they answer one question, asked with --only. */
const ONLY_WHEN_ASKED: readonly Section[] = ['ops'];
type Section = (typeof SECTIONS)[number];

interface Settings {
  readonly quick: boolean;
  readonly only?: Section;
  readonly sizes: number[];
  readonly lsSizes: number[];
  readonly cycles: number;
  readonly runCycles: number;
  readonly seconds: number;
  readonly connections: number;
  readonly profile: boolean;
  readonly loads?: readonly PluginLoad[];
  readonly cloudSizes: number[];
  readonly mountSizes: number[];
  readonly sharedMounts: number;
  readonly opsVolumes: number;
  readonly opsRounds: number;
  readonly opsOn: OpsOnMode;
}

function parseArgs(argv: readonly string[]): Settings {
  const flags = new Map<string, string>();
  for (const arg of argv) {
    if (arg === '--') continue;
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!match) throw new Error(`unknown argument ${arg} (see bench/src/main.ts for the options)`);
    flags.set(match[1] as string, match[2] ?? 'true');
  }
  const known = [
    'quick',
    'only',
    'sizes',
    'ls-sizes',
    'cycles',
    'run-cycles',
    'seconds',
    'connections',
    'profile',
    'loads',
    'cloud-sizes',
    'mount-sizes',
    'shared-mounts',
    'ops-volumes',
    'ops-rounds',
    'ops-on',
  ];
  for (const key of flags.keys())
    if (!known.includes(key)) throw new Error(`unknown option --${key}; known: ${known.join(', ')}`);
  const quick = flags.get('quick') === 'true';
  const numbers = (key: string, fallback: number[]): number[] => {
    const raw = flags.get(key);
    if (raw === undefined) return fallback;
    const values = raw.split(',').map(Number);
    if (values.some((v) => !Number.isInteger(v) || v < 0)) throw new Error(`--${key}: comma-separated whole numbers`);
    return values.sort((a, b) => a - b);
  };
  const only = flags.get('only') as Section | undefined;
  if (only !== undefined && !SECTIONS.includes(only)) throw new Error(`--only: one of ${SECTIONS.join(', ')}`);
  const opsOn = (flags.get('ops-on') ?? 'scraped') as OpsOnMode;
  if (!OPS_ON_MODES.includes(opsOn)) throw new Error(`--ops-on: one of ${OPS_ON_MODES.join(', ')}`);
  const loads = flags.get('loads')?.split(',');
  const unknownLoad = loads?.find((l) => !(PLUGIN_LOADS as readonly string[]).includes(l));
  if (unknownLoad !== undefined)
    throw new Error(`--loads: unknown load ${unknownLoad}; known: ${PLUGIN_LOADS.join(', ')}`);
  return {
    quick,
    ...(only ? { only } : {}),
    sizes: numbers('sizes', quick ? [100, 1000] : [100, 1000, 10_000]),
    lsSizes: numbers('ls-sizes', quick ? [200] : [1000, 10_000]),
    cycles: numbers('cycles', [quick ? 5 : 30])[0] as number,
    runCycles: numbers('run-cycles', [quick ? 5 : 90])[0] as number,
    seconds: numbers('seconds', [quick ? 1 : 4])[0] as number,
    connections: numbers('connections', [8])[0] as number,
    profile: flags.get('profile') === 'true',
    ...(loads ? { loads: loads as PluginLoad[] } : {}),
    cloudSizes: numbers('cloud-sizes', quick ? [100, 1000] : [100, 1000, 5000]),
    mountSizes: numbers('mount-sizes', quick ? [1, 10] : [1, 10, 20]),
    sharedMounts: numbers('shared-mounts', [quick ? 50 : 100])[0] as number,
    opsVolumes: numbers('ops-volumes', [quick ? 100 : 1000])[0] as number,
    opsRounds: numbers('ops-rounds', [quick ? 1 : 4])[0] as number,
    opsOn,
  };
}

function loadAverage(): number[] {
  return loadavg().map((value) => Math.round(value * 100) / 100);
}

/** Re-runs this process under `flock`, unless it already runs under it. */
function holdTheLock(): void {
  if (process.env.STOWAGE_BENCH_LOCKED === '1') return;
  const args = [...process.execArgv, process.argv[1] as string, ...process.argv.slice(2)];
  const free = spawnSync('flock', ['--nonblock', '--conflict-exit-code', '75', LOCK_FILE, 'true']);
  if (free.error) throw new Error(`flock not found (util-linux): ${free.error.message}`);
  if (free.status === 75) console.error(`waiting for ${LOCK_FILE}: an e2e run or another benchmark holds it`);
  const run = spawnSync('flock', [LOCK_FILE, process.execPath, ...args], {
    stdio: 'inherit',
    env: { ...process.env, STOWAGE_BENCH_LOCKED: '1' },
  });
  process.exit(run.status ?? 1);
}

async function main(): Promise<void> {
  const settings = parseArgs(process.argv.slice(2));
  const runs = (section: Section): boolean =>
    settings.only === section || (settings.only === undefined && !ONLY_WHEN_ASKED.includes(section));
  if (process.getuid?.() !== 0 && runs('docker')) {
    throw new Error(
      'the Docker half starts dockerd and serves /run/docker/plugins/stowage.sock: run as root (sudo pnpm bench), or --only=plugin',
    );
  }
  if (settings.only !== 'cloud' && !existsSync(CLI_MAIN))
    throw new Error(`${CLI_MAIN} is missing: build first (pnpm build)`);
  // The cloud section uses no plugin process, and the calls and ops sections serve temp sockets only: none touches
  // the machine-wide socket or Docker, so they need no lock.
  if (settings.only !== 'cloud' && settings.only !== 'calls' && settings.only !== 'ops') holdTheLock();

  const startedAt = new Date();
  const log = (line: string): void => console.error(line);
  const print = (text: string): void => console.log(text);
  const machine = {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    kernel: spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.trim(),
    commit: spawnSync('git', ['-C', REPO_ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim(),
    dirty:
      spawnSync('git', ['-C', REPO_ROOT, 'status', '--porcelain', '--', 'packages'], {
        encoding: 'utf8',
      }).stdout.trim() !== '',
    // The machine is shared: its load (1, 5 and 15 minutes) says how far to trust the latencies of this run.
    loadAverageAtStart: loadAverage(),
  };
  print(
    `Stowage benchmarks${settings.quick ? ' (--quick)' : ''}: ${machine.cores} cores (${machine.cpu}), ${machine.memoryGiB} GiB, ` +
      `Node ${machine.node}, kernel ${machine.kernel}, commit ${machine.commit}${machine.dirty ? ' + uncommitted changes' : ''}, ` +
      `load average ${machine.loadAverageAtStart.join(' ')}`,
  );
  mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');

  let pluginAlone: PluginAloneResult | undefined;
  let againstLocal: AgainstLocalResult | undefined;
  if (runs('plugin')) {
    log(
      `plugin alone: sizes ${settings.sizes.join(', ')}, ${settings.seconds} s per load, ${settings.connections} connections when loaded`,
    );
    const t0 = performance.now();
    pluginAlone = await benchPluginAlone({
      sizes: settings.sizes,
      seconds: settings.seconds,
      connections: settings.connections,
      listRequests: settings.quick ? 10 : 30,
      createConcurrency: 4,
      ...(settings.loads ? { loads: new Set(settings.loads) } : {}),
      ...(settings.profile ? { profileDir: join(RESULTS_DIR, `profile-${stamp}`) } : {}),
      log,
    });
    log(`plugin alone: done in ${Math.round((performance.now() - t0) / 1000)} s`);
    printPluginAlone(pluginAlone, print);
  }
  if (runs('docker')) {
    log(
      `against local: ${settings.cycles} cycles per driver (${settings.runCycles} of container starts), ` +
        `ls at ${settings.lsSizes.join(', ')} volumes per driver`,
    );
    const t0 = performance.now();
    againstLocal = await benchAgainstLocal({
      cycles: settings.cycles,
      runCycles: settings.runCycles,
      lsSizes: settings.lsSizes,
      lsRounds: settings.quick ? 3 : 7,
      log,
    });
    log(`against local: done in ${Math.round((performance.now() - t0) / 1000)} s`);
    printAgainstLocal(againstLocal, print);
  }
  let engineCalls: EngineCallsResult | undefined;
  if (runs('calls')) {
    const t0 = performance.now();
    engineCalls = await benchEngineCalls({
      cycles: settings.cycles * 4,
      ...(settings.profile ? { profileDir: join(RESULTS_DIR, `profile-calls-${stamp}`) } : {}),
      log,
    });
    log(`engine calls replayed: done in ${Math.round((performance.now() - t0) / 1000)} s`);
    printEngineCalls(engineCalls, print);
  }
  let cloudEconomy: CloudEconomyResult | undefined;
  if (runs('cloud')) {
    log(
      `cloud economy: List at ${settings.cloudSizes.join(', ')} volumes; ${settings.mountSizes.join(', ')} concurrent mounts, ${settings.sharedMounts} shared`,
    );
    const t0 = performance.now();
    cloudEconomy = await benchCloudEconomy({
      listSizes: settings.cloudSizes,
      mountSizes: settings.mountSizes,
      sharedMounts: settings.sharedMounts,
      log,
    });
    log(`cloud economy: done in ${Math.round((performance.now() - t0) / 1000)} s`);
    printCloudEconomy(cloudEconomy, print);
  }

  let opsOverhead: OpsOverheadResult | undefined;
  if (runs('ops')) {
    log(
      `ops server overhead: ${settings.opsVolumes} volumes, ${settings.opsRounds} pairs of runs, ${settings.seconds} s per load, ${settings.connections} connections when loaded`,
    );
    const t0 = performance.now();
    opsOverhead = await benchOpsOverhead({
      volumes: settings.opsVolumes,
      seconds: settings.seconds,
      connections: settings.connections,
      // Enough Lists for their p99 to be a percentile, not the slowest of a few (a scrape may hold up one or two).
      listRequests: settings.quick ? 10 : 300,
      rounds: settings.opsRounds,
      on: settings.opsOn,
      log,
    });
    log(`ops server overhead: done in ${Math.round((performance.now() - t0) / 1000)} s`);
    printOpsOverhead(opsOverhead, print);
  }

  const loadAverageAtEnd = loadAverage();
  print(`\nload average at the end: ${loadAverageAtEnd.join(' ')}`);
  const file = join(RESULTS_DIR, `bench-${stamp}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(), settings, machine: { ...machine, loadAverageAtEnd }, pluginAlone, againstLocal, engineCalls, cloudEconomy, opsOverhead }, null, 2)}\n`,
  );
  print(`\nresults: ${relative(process.cwd(), file) || file}`);
}

main().catch((error: unknown) => {
  console.error(`bench: ${(error as Error).stack ?? String(error)}`);
  process.exit(1);
});
