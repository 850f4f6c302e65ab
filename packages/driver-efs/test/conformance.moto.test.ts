import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { runConformanceSuite, type ConformanceSetup } from '@stowage/core/testing';
import type { MotoCloud } from '@stowage/testkit/moto';
import { provider, scratch, startMotoEfs } from './support/moto-efs.js';

// One moto server and one file system for the file: the suite prefixes its names per test.
let world: MotoCloud;
let fileSystemId: string;
beforeAll(async () => {
  world = await startMotoEfs();
  fileSystemId = await world.fileSystem({ name: 'conformance' });
});
afterAll(async () => {
  await world?.stop();
});

function setup(accessPoints: boolean): () => Promise<ConformanceSetup> {
  return async (): Promise<ConformanceSetup> => {
    const dir = await scratch();
    return {
      provider: provider({
        fileSystemId,
        accessPoints,
        nfsStandInDir: dir.exports,
        mountRoot: join(dir.dir, 'mounts'),
      }),
      createOptions: { perfmode: 'generalpurpose', mode: '0750' },
      otherCreateOptions: { perfmode: 'generalpurpose', mode: '0700' },
      invalidOptions: [
        { options: { perfmode: 'fast' }, error: /perfmode: must be one of generalpurpose, maxio/ },
        { options: { perfmode: 'maxio' }, error: /perfmode: maxio needs a max I\/O file system/ },
        { options: { mode: '8888' }, error: /mode: must be an octal mode such as 755 or 0750/ },
        { options: { uid: 'root' }, error: /uid: must be a whole number/ },
      ],
      teardown: () => dir.cleanup(),
    };
  };
}

runConformanceSuite('efs', setup(false));
// Access point volumes: their ref is the access point's id, which the remount after a restart finds them by.
runConformanceSuite('efs (access points)', setup(true));
