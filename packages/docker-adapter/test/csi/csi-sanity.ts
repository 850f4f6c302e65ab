import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PACKAGE_DIR } from '../support/stowage-cli.js';

const run = promisify(execFile);

/** The project's recipe for the csi-sanity binary (built once from the Go module proxy, then cached). */
const BUILD_SCRIPT = join(PACKAGE_DIR, '..', '..', 'scripts', 'csi-sanity.sh');

/** One spec of a csi-sanity run. */
export interface SanitySpec {
  readonly name: string;
  readonly state: 'passed' | 'failed' | 'skipped' | 'pending' | string;
  /** The failure, or for a skipped spec the reason it gives (`ListSnapshots not supported`). */
  readonly message: string;
}

/** What a csi-sanity run did, read from its ginkgo JSON report rather than its coloured output. */
export interface SanityRun {
  readonly exitCode: number;
  readonly specs: readonly SanitySpec[];
  readonly output: string;
  count(state: SanitySpec['state']): number;
}

/** Builds csi-sanity if the cache lacks it and resolves with its path. */
export async function csiSanityBinary(): Promise<string> {
  const { stdout } = await run('bash', [BUILD_SCRIPT], { timeout: 15 * 60_000 });
  return stdout.trim();
}

interface GinkgoSpecReport {
  readonly LeafNodeType: string;
  readonly LeafNodeText: string;
  readonly ContainerHierarchyTexts: readonly string[] | null;
  readonly State: string;
  readonly Failure?: { readonly Message?: string };
}

/**
 * Runs csi-sanity against `endpoint` with its defaults, which include its idempotency checks (every publish of the
 * volume lifecycle sent 10 times). `mountDir`'s parent must exist; csi-sanity makes and removes the directory itself.
 */
export async function runCsiSanity(
  binary: string,
  options: {
    endpoint: string;
    mountDir: string;
    stagingDir: string;
    report: string;
    /** The CreateVolume parameters of every volume it makes (`backing` picks the backing). */
    volumeParameters?: Readonly<Record<string, string>>;
  },
): Promise<SanityRun> {
  const args = [
    `--csi.endpoint=${options.endpoint}`,
    `--csi.mountdir=${options.mountDir}`,
    `--csi.stagingdir=${options.stagingDir}`,
    `--ginkgo.json-report=${options.report}`,
    '--ginkgo.no-color',
  ];
  if (options.volumeParameters) {
    // csi-sanity reads a YAML map; JSON is YAML, and quotes every value as the string CreateVolume wants.
    const file = `${options.report}.parameters.yaml`;
    await writeFile(file, JSON.stringify(options.volumeParameters));
    args.push(`--csi.testvolumeparameters=${file}`);
  }
  const result = await new Promise<{ exitCode: number; output: string }>((resolve, reject) => {
    execFile(binary, args, { timeout: 10 * 60_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') reject(error);
      else resolve({ exitCode: typeof error?.code === 'number' ? error.code : 0, output: `${stdout}${stderr}` });
    });
  });
  const suites = JSON.parse(await readFile(options.report, 'utf8')) as { SpecReports: GinkgoSpecReport[] }[];
  const specs = suites
    .flatMap((suite) => suite.SpecReports)
    .filter((spec) => spec.LeafNodeType === 'It')
    .map((spec) => ({
      name: [...(spec.ContainerHierarchyTexts ?? []), spec.LeafNodeText].join(' / '),
      state: spec.State,
      message: spec.Failure?.Message ?? '',
    }));
  return { ...result, specs, count: (state) => specs.filter((s) => s.state === state).length };
}

// What csi-sanity says when it skips a spec for a capability the plugin does not advertise.
const UNADVERTISED = /not supported|does not have single node multi writer capability/;

/**
 * The specs skipped for a reason other than an unadvertised capability or one of `knownSkips` (messages the caller
 * explains): each one is coverage the run claims and does not give.
 */
export function unexpectedSkips(run: SanityRun, knownSkips: ReadonlySet<string> = new Set()): SanitySpec[] {
  return run.specs.filter((s) => s.state === 'skipped' && !UNADVERTISED.test(s.message) && !knownSkips.has(s.message));
}

/** `34 passed, 0 failed, 68 skipped, 0 pending`, for the log of a CI run. */
export function sanityCounts(run: SanityRun): string {
  return ['passed', 'failed', 'skipped', 'pending'].map((s) => `${run.count(s)} ${s}`).join(', ');
}

/** The specs that publish for real: the volume lifecycle, NodePublish sent 10 times over in the idempotent one. */
export const LIFECYCLE_SPECS = ['Node Service / should work', 'Node Service / should be idempotent'] as const;

/** The spec that runs GetCapacity (with no parameters) once GET_CAPACITY is advertised. */
export const GET_CAPACITY_SPEC =
  'Controller Service [Controller Server] / GetCapacity / should return capacity (no optional values added)';
