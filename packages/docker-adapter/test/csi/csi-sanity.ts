import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
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
  options: { endpoint: string; mountDir: string; stagingDir: string; report: string },
): Promise<SanityRun> {
  const args = [
    `--csi.endpoint=${options.endpoint}`,
    `--csi.mountdir=${options.mountDir}`,
    `--csi.stagingdir=${options.stagingDir}`,
    `--ginkgo.json-report=${options.report}`,
    '--ginkgo.no-color',
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
