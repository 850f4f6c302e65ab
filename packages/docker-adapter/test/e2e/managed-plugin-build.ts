import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runCommand } from '@stowage/testkit/docker';

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** The script behind `pnpm package:plugin` (after the build): assembles config.json and rootfs/. */
export const MANAGED_PLUGIN_BUILD = `${REPO_ROOT}packaging/managed-plugin/build.sh`;

/** The version the plugin is tagged with, `stowage:<version>`: the docker-adapter package's. */
export const PLUGIN_VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/**
 * Builds the managed plugin directory into `outDir` from the built packages, as `pnpm package:plugin` does
 * (downloads cached in the repository's build/cache), and returns what the build printed, its step timings included.
 */
export function buildManagedPlugin(outDir: string): Promise<string> {
  return runPackagingScript(MANAGED_PLUGIN_BUILD, outDir);
}

/** The script behind `pnpm package:csi-plugin`: the same rootfs under the CSI plugin's config.json. */
export const CSI_PLUGIN_BUILD = `${REPO_ROOT}packaging/csi-plugin/build.sh`;

/** Builds the CSI managed plugin (for Swarm cluster volumes) into `outDir`, as `pnpm package:csi-plugin` does. */
export function buildCsiPlugin(outDir: string): Promise<string> {
  return runPackagingScript(CSI_PLUGIN_BUILD, outDir);
}

async function runPackagingScript(script: string, outDir: string): Promise<string> {
  const result = await runCommand('bash', [script, outDir], { timeoutMs: 300_000 });
  if (result.code !== 0) {
    throw new Error(`bash ${script} ${outDir} exited ${result.code}:\n${result.stderr}${result.stdout}`);
  }
  return result.stderr;
}
