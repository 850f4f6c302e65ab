import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@stowage/core';
import { runConformanceSuite, type ConformanceSetup } from '@stowage/core/testing';
import { LocalProvider } from '../src/index.js';
import { DIRECT_FS, POOL_FS } from '../src/volume-fs.js';

// Once with each way of making the file calls: init picks one by the root's file system, so a root on NFS gets the
// thread pool's, and both must behave alike.
for (const calls of [DIRECT_FS, POOL_FS]) {
  runConformanceSuite(`local (${calls.kind} file calls)`, async (): Promise<ConformanceSetup> => {
    const dir = await mkdtemp(join(tmpdir(), 'stowage-local-conformance-'));
    return {
      provider: new LocalProvider({ root: join(dir, 'volumes') }, createLogger({ level: 'silent' }), { fs: calls }),
      createOptions: { mode: '0750' },
      otherCreateOptions: { mode: '0700' },
      invalidOptions: [
        { options: { mode: '888' }, error: /mode: must be an octal mode such as 755 or 0750/ },
        { options: { mode: 'rwxr-xr-x' }, error: /mode: must be an octal mode/ },
        { options: { uid: '-1' }, error: /uid: must be between 0 and 4294967294/ },
        { options: { gid: '4294967295' }, error: /gid: must be between 0 and 4294967294/ },
        { options: { uid: 'root' }, error: /uid: must be a whole number/ },
      ],
      teardown: () => rm(dir, { recursive: true, force: true }),
    };
  });
}
