import { runCommand, type EngineBinaries } from '@stowage/testkit/docker';
import { PACKAGE_DIR } from '../support/stowage-cli.js';
import { join } from 'node:path';

/** The project's recipe for a current dockerd and runc (built once from the Go module proxy, then cached). */
const BUILD_SCRIPT = join(PACKAGE_DIR, '..', '..', 'scripts', 'swarm-engine.sh');

/**
 * A dockerd and runc recent enough for Swarm cluster volumes (Docker 23 / API 1.42 and later; Debian's engine is
 * 20.10): built by scripts/swarm-engine.sh if its cache lacks them (about 5 minutes on 2 cores), else at once.
 */
export async function swarmEngineBinaries(): Promise<EngineBinaries> {
  const result = await runCommand('bash', [BUILD_SCRIPT], { timeoutMs: 30 * 60_000 });
  const [dockerd, runc] = result.stdout.trim().split('\n');
  if (result.code !== 0 || !dockerd || !runc) {
    throw new Error(`bash ${BUILD_SCRIPT} exited ${result.code}:\n${result.stderr.slice(-4000)}${result.stdout}`);
  }
  return { dockerd, runc };
}
