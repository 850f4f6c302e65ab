import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { SystemHostOperations, createLogger } from '@stowage/core';
import { runConformanceSuite, type ConformanceSetup } from '@stowage/core/testing';
import { LoopfsProvider } from '../src/index.js';

// Loop mounts need root; elsewhere the suite is reported as skipped rather than failing on EPERM.
if (process.getuid?.() === 0) {
  runConformanceSuite('loopfs', async (): Promise<ConformanceSetup> => {
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
  });
} else {
  describe('loopfs: StorageProvider conformance', () => {
    it.skip('needs root for loop mounts', () => undefined);
  });
}
