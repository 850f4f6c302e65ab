import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, it } from 'vitest';
import { SystemHostOperations, createLogger } from '@stowage/core';
import type { ConformanceSetup } from '@stowage/core/testing';
import { runAdapterConformance } from '@stowage/csi-adapter/conformance';
import { LoopfsProvider } from '../src/index.js';

/**
 * csi-sanity, built once from the Go module proxy by the repository's script and cached (a driver in its own
 * repository would point CSI_SANITY at a `go install`ed one instead).
 */
async function csiSanity(): Promise<string> {
  const script = join(import.meta.dirname, '..', '..', '..', 'scripts', 'csi-sanity.sh');
  const { stdout } = await promisify(execFile)('bash', [script], { timeout: 15 * 60_000 });
  return stdout.trim();
}

// Loop mounts need root; elsewhere the suites are reported as skipped rather than failing on EPERM.
if (process.getuid?.() === 0) {
  // One call: the provider through the engine (what the Docker volume plugin serves) and as a CSI plugin.
  runAdapterConformance(
    'loopfs',
    async (): Promise<ConformanceSetup> => {
      const dir = await mkdtemp(join(tmpdir(), 'stowage-loopfs-conformance-'));
      const logger = createLogger({ level: 'silent' });
      return {
        provider: new LoopfsProvider({ root: join(dir, 'loopfs') }, new SystemHostOperations({ logger }), logger),
        createOptions: { size: '16' },
        otherCreateOptions: { size: '32' },
        invalidOptions: [
          { options: { size: '8' }, error: /size: must be between 16 and 16777216, got 8/ },
          { options: { size: '1G' }, error: /size: must be a whole number, got "1G"/ },
        ],
        teardown: () => rm(dir, { recursive: true, force: true }),
      };
    },
    { csiSanity: process.env.CSI_SANITY ?? csiSanity },
  );
} else {
  describe('loopfs: StorageProvider conformance', () => {
    it.skip('needs root for loop mounts', () => undefined);
  });
}
