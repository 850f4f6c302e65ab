import { status } from '@grpc/grpc-js';
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FAILPOINTS_ENV } from '@stowage/core';
import { CSI_FAILPOINTS } from '@stowage/csi-adapter';
import type { EngineFailpoint } from '@stowage/core/testing';
import { mountsUnder, unmountAllUnder } from '@stowage/testkit/docker';
import { describe, it } from 'vitest';
import { CsiClient } from '../csi/csi-client.js';
import { cliEnv, startCsi, type ServeProcess } from '../support/stowage-cli.js';
import { BLANK_PREFIX } from '@stowage/driver-local';

/**
 * `stowage csi` killed with SIGKILL at each step a CSI volume's life passes (the adapter's own failpoints between the
 * engine's hold and the bind, and the engine's around its journal), then restarted on the same state while the CO
 * retries the call it got no answer to, as Kubernetes, Nomad and Swarm do. Every call must then succeed, the data
 * written before the kill must read back, and nothing may be left: no mount, no hold (DeleteVolume would refuse),
 * no volume directory. The local backing, so a row costs two process starts.
 */
const STEPS: ReadonlyArray<(typeof CSI_FAILPOINTS)[number] | EngineFailpoint> = [
  ...CSI_FAILPOINTS,
  'create:before-provider',
  'create:after-provider',
  // No intent steps: the local backing mounts in place, so the engine writes none before its Mount and Unmount.
  'mount:after-provider',
  'mount:after-commit',
  'unmount:after-provider',
  'unmount:after-commit',
  'remove:before-provider',
  'remove:after-provider',
];

const capability = { mount: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } };

describe.concurrent(
  '`stowage csi` killed at every step of a volume’s life, then restarted while the CO retries',
  () => {
    it.for(STEPS)(
      'killed at %s: the retried calls finish the lifecycle, data kept, nothing left',
      async (step, { expect }) => {
        const dir = await mkdtemp(join(tmpdir(), 'stowage-csi-crash-'));
        const endpoint = `unix://${join(dir, 'run', 'csi.sock')}`;
        const args = ['--endpoint', endpoint, '--node-id', 'crash-node'];
        const env = cliEnv({ STOWAGE_STATE_DIR: join(dir, 'state'), STOWAGE_LOCAL_ROOT: join(dir, 'volumes') });
        let plugin: ServeProcess = await startCsi({ ...env, [FAILPOINTS_ENV]: step }, args);
        let kills = 0;

        /** One call as a CO makes it: when the plugin died under it, start the plugin again and send the same call. */
        const call = async (service: 'controller' | 'node', method: string, request: object) => {
          for (;;) {
            const client = new CsiClient(endpoint);
            const result = await client.callAsCo(service, method, request).finally(() => client.close());
            if (!result.error || !(await killedBySigkill(plugin))) return result;
            kills += 1;
            expect(kills, `the plugin was killed again after its restart, in ${method}`).toBe(1);
            plugin = await startCsi(env, args);
          }
        };
        const ok = async (service: 'controller' | 'node', method: string, request: object) => {
          const { error } = await call(service, method, request);
          expect(error, `${method}: ${error?.details}`).toBeUndefined();
        };

        try {
          const volume = { volume_id: 'crashed', volume_capability: capability };
          const target = join(dir, 'pods', 'a', 'mount');
          await mkdir(join(dir, 'pods', 'a'), { recursive: true });
          await ok('controller', 'CreateVolume', { name: 'crashed', volume_capabilities: [capability] });
          await ok('node', 'NodePublishVolume', { ...volume, target_path: target });
          await writeFile(join(target, 'before'), `written before a kill at ${step}\n`);
          await ok('node', 'NodeUnpublishVolume', { ...volume, target_path: target });
          expect(await mountsUnder(dir)).toEqual([]);

          await ok('node', 'NodePublishVolume', { ...volume, target_path: target });
          expect(await readFile(join(target, 'before'), 'utf8')).toBe(`written before a kill at ${step}\n`);
          // Published, it cannot be deleted: the hold a crash might have doubled or lost is the engine's answer here.
          const busy = await call('controller', 'DeleteVolume', { volume_id: 'crashed' });
          expect(busy.error?.code, busy.error?.details).toBe(status.FAILED_PRECONDITION);
          await ok('node', 'NodeUnpublishVolume', { ...volume, target_path: target });
          await ok('controller', 'DeleteVolume', { volume_id: 'crashed' });

          expect(kills, `the failpoint ${step} was reached once`).toBe(1);
          expect(await mountsUnder(dir)).toEqual([]);
          // A removed volume's files go in the background, just after the answer; the blanks kept for the next
          // creates stay.
          const volumes = async () =>
            (await readdir(join(dir, 'volumes'))).filter((entry) => !entry.startsWith(BLANK_PREFIX));
          await expect.poll(volumes, { timeout: 30_000 }).toEqual([]);
          const listed = await call('controller', 'ListVolumes', {});
          expect(listed.answer).toMatchObject({ entries: [] });
        } finally {
          await plugin.stop();
          await unmountAllUnder(dir);
          await rm(dir, { recursive: true, force: true });
        }
      },
    );
  },
);

/** Whether `plugin` is gone, killed by SIGKILL, as a failpoint kills it (waiting a moment for the exit to be seen). */
async function killedBySigkill(plugin: ServeProcess): Promise<boolean> {
  const { child } = plugin;
  if (child.exitCode === null && child.signalCode === null) {
    await Promise.race([once(child, 'exit'), sleep(5_000)]);
  }
  return child.signalCode === 'SIGKILL';
}
