import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { SystemHostOperations, createLogger } from '@stowage/core';
import { runConformanceSuite, type ConformanceSetup } from '@stowage/core/testing';
import { TmpfsProvider } from '../src/index.js';

// tmpfs mounts need root; elsewhere the suite is reported as skipped rather than failing on EPERM.
if (process.getuid?.() === 0) {
  runConformanceSuite('tmpfs', async (): Promise<ConformanceSetup> => {
    const dir = await mkdtemp(join(tmpdir(), 'stowage-tmpfs-conformance-'));
    const logger = createLogger({ level: 'silent' });
    return {
      provider: new TmpfsProvider({ root: join(dir, 'tmpfs') }, new SystemHostOperations({ logger }), logger),
      createOptions: { size: '16M' },
      otherCreateOptions: { size: '32m' },
      invalidOptions: [
        { options: {}, error: /size: required for backing=tmpfs/ },
        { options: { size: '0m' }, error: /size: must be between 1m and 1024g, got 0m/ },
        { options: { size: '16' }, error: /size: must be a whole number with a k, m or g suffix, such as 64m/ },
      ],
      teardown: () => rm(dir, { recursive: true, force: true }),
    };
  });
} else {
  describe('tmpfs: StorageProvider conformance', () => {
    it.skip('needs root for tmpfs mounts', () => undefined);
  });
}
