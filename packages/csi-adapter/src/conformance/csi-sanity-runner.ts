import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';

/** One spec of a csi-sanity run. */
export interface SanitySpec {
  /** Its containers and its own text, joined with ` / ` (`Node Service / should work`). */
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

/** Where and how {@link runCsiSanity} runs csi-sanity. */
export interface SanityOptions {
  /** The plugin, `unix:///path.sock`. */
  readonly endpoint: string;
  /** Where csi-sanity makes its targets; its parent must exist (csi-sanity makes and removes the directory). */
  readonly mountDir: string;
  readonly stagingDir: string;
  /** Where the ginkgo JSON report goes (and the parameters file beside it). */
  readonly report: string;
  /** The CreateVolume parameters of every volume it makes (`backing` picks the backing). */
  readonly volumeParameters?: Readonly<Record<string, string>>;
  /** The bytes each test volume asks for (`-csi.testvolumesize`); csi-sanity's default is 10 GiB. */
  readonly volumeSize?: number;
}

/**
 * csi-sanity's places under `dir`, a directory of the run's own: its targets and staging paths in `dir/sanity` (made
 * here, since csi-sanity needs their parent to exist) and its report beside that.
 */
export async function sanityPlaces(dir: string): Promise<Pick<SanityOptions, 'mountDir' | 'stagingDir' | 'report'>> {
  await mkdir(join(dir, 'sanity'));
  return {
    mountDir: join(dir, 'sanity', 'target'),
    stagingDir: join(dir, 'sanity', 'staging'),
    report: join(dir, 'sanity-report.json'),
  };
}

interface GinkgoSpecReport {
  readonly LeafNodeType: string;
  readonly LeafNodeText: string;
  readonly ContainerHierarchyTexts: readonly string[] | null;
  readonly State: string;
  readonly Failure?: { readonly Message?: string };
}

/**
 * Runs csi-sanity (kubernetes-csi/csi-test, the `binary` given) against `endpoint` with its defaults, which include
 * its idempotency checks (every publish of the volume lifecycle sent 10 times).
 */
export async function runCsiSanity(binary: string, options: SanityOptions): Promise<SanityRun> {
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
  if (options.volumeSize) args.push(`--csi.testvolumesize=${options.volumeSize}`);
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
 * The skip every Stowage backing without a size of its own gives: CreateVolume reports capacity 0 ("unknown", as the
 * spec allows), so the spec comparing two capacities has nothing to compare.
 */
export const CAPACITY_UNKNOWN_SKIP = 'capacity of the volume is unknown';

/**
 * The specs skipped for a reason other than an unadvertised capability or one of `knownSkips` (messages the caller
 * explains): each one is coverage the run claims and does not give.
 */
export function unexpectedSkips(run: SanityRun, knownSkips: ReadonlySet<string> = new Set()): SanitySpec[] {
  return run.specs.filter((s) => s.state === 'skipped' && !UNADVERTISED.test(s.message) && !knownSkips.has(s.message));
}

/** `35 passed, 0 failed, 67 skipped, 1 pending`, for the log of a CI run. */
export function sanityCounts(run: SanityRun): string {
  return ['passed', 'failed', 'skipped', 'pending'].map((s) => `${run.count(s)} ${s}`).join(', ');
}

/** The specs that publish for real: the volume lifecycle, NodePublish sent 10 times over in the idempotent one. */
export const LIFECYCLE_SPECS = ['Node Service / should work', 'Node Service / should be idempotent'] as const;

/** The spec that runs GetCapacity (with no parameters) once GET_CAPACITY is advertised. */
export const GET_CAPACITY_SPEC =
  'Controller Service [Controller Server] / GetCapacity / should return capacity (no optional values added)';

/**
 * Asserts a csi-sanity run passed as the conformance kit requires: no failure, exit 0, no skip but for unadvertised
 * capabilities and `knownSkips`, and each of `mustPass` (the lifecycle specs at least) run and passed.
 */
export function expectSanityPassed(
  run: SanityRun,
  options: { knownSkips?: readonly string[]; mustPass?: readonly string[] } = {},
): void {
  expect(run.specs.filter((s) => s.state === 'failed')).toEqual([]);
  expect(run.exitCode, run.output.slice(-4000)).toBe(0);
  expect(unexpectedSkips(run, new Set(options.knownSkips ?? [CAPACITY_UNKNOWN_SKIP]))).toEqual([]);
  for (const spec of [...LIFECYCLE_SPECS, ...(options.mustPass ?? [])]) {
    expect(run.specs.find((s) => s.name === spec)?.state, spec).toBe('passed');
  }
}
