import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PACKAGE_DIR } from '../support/stowage-cli.js';

// The runner and its report reading are the conformance kit's, shared with every driver author.
export {
  runCsiSanity,
  unexpectedSkips,
  sanityCounts,
  CAPACITY_UNKNOWN_SKIP,
  LIFECYCLE_SPECS,
  GET_CAPACITY_SPEC,
  type SanityRun,
  type SanitySpec,
} from '@stowage/csi-adapter/conformance';

const run = promisify(execFile);

/** The project's recipe for the csi-sanity binary (built once from the Go module proxy, then cached). */
const BUILD_SCRIPT = join(PACKAGE_DIR, '..', '..', 'scripts', 'csi-sanity.sh');

/** Builds csi-sanity if the cache lacks it and resolves with its path. */
export async function csiSanityBinary(): Promise<string> {
  const { stdout } = await run('bash', [BUILD_SCRIPT], { timeout: 15 * 60_000 });
  return stdout.trim();
}
