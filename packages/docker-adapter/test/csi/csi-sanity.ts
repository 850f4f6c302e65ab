import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PACKAGE_DIR } from '../support/stowage-cli.js';

// The runner, its report reading and its verdict are the conformance kit's, shared with every driver author.
export * from '@stowage/csi-adapter/conformance';

const run = promisify(execFile);

/** The project's recipe for the csi-sanity binary (built once from the Go module proxy, then cached). */
const BUILD_SCRIPT = join(PACKAGE_DIR, '..', '..', 'scripts', 'csi-sanity.sh');

/** Builds csi-sanity if the cache lacks it and resolves with its path. */
export async function csiSanityBinary(): Promise<string> {
  const { stdout } = await run('bash', [BUILD_SCRIPT], { timeout: 15 * 60_000 });
  return stdout.trim();
}
