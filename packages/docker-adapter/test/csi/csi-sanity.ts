import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'vitest';
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

/** Where and how csi-sanity runs. */
export interface SanityOptions {
  readonly endpoint: string;
  readonly mountDir: string;
  readonly stagingDir: string;
  /** Where its ginkgo JSON report is written. */
  readonly report: string;
  /** A YAML file of CreateVolume parameters (`-csi.testvolumeparameters`): the backing's create options. */
  readonly volumeParameters?: string;
  /** The bytes each test volume asks for (`-csi.testvolumesize`); csi-sanity's default is 10 GiB. */
  readonly volumeSize?: number;
}

/**
 * Runs csi-sanity against `endpoint` with its defaults, which include its idempotency checks (every publish of the
 * volume lifecycle sent 10 times). `mountDir`'s parent must exist; csi-sanity makes and removes the directory itself.
 */
export async function runCsiSanity(binary: string, options: SanityOptions): Promise<SanityRun> {
  const args = [
    `--csi.endpoint=${options.endpoint}`,
    `--csi.mountdir=${options.mountDir}`,
    `--csi.stagingdir=${options.stagingDir}`,
    `--ginkgo.json-report=${options.report}`,
    '--ginkgo.no-color',
    ...(options.volumeParameters ? [`--csi.testvolumeparameters=${options.volumeParameters}`] : []),
    ...(options.volumeSize ? [`--csi.testvolumesize=${options.volumeSize}`] : []),
  ];
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

// What csi-sanity says when it skips a spec for a capability this plugin does not advertise.
const UNADVERTISED = /not supported|does not have single node multi writer capability/;

/**
 * Prints the counts of a run and asserts it passed: no spec failed, none was skipped except for a capability the
 * plugin does not advertise or a reason in `knownSkips`, and the specs that publish for real (the volume lifecycle,
 * NodePublish sent 10 times over) ran and passed.
 */
export function expectSanityPassed(
  result: SanityRun,
  label: string,
  knownSkips: ReadonlySet<string> = new Set(),
): void {
  const counts = ['passed', 'failed', 'skipped', 'pending'].map((s) => `${result.count(s)} ${s}`).join(', ');
  console.log(`csi-sanity v5.6.0 against stowage csi (${label}): ${counts}`);
  expect(result.specs.filter((s) => s.state === 'failed')).toEqual([]);
  expect(result.exitCode, result.output.slice(-4000)).toBe(0);
  const unexpectedSkips = result.specs.filter(
    (s) => s.state === 'skipped' && !UNADVERTISED.test(s.message) && !knownSkips.has(s.message),
  );
  expect(unexpectedSkips).toEqual([]);
  for (const lifecycle of ['Node Service / should work', 'Node Service / should be idempotent']) {
    expect(result.specs.find((s) => s.name === lifecycle)?.state, lifecycle).toBe('passed');
  }
}
