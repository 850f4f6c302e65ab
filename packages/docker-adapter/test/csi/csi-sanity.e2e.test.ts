import { status } from '@grpc/grpc-js';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mountsUnder, runChecked, unmountAllUnder } from '@stowage/testkit/docker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, startCsi, type ServeProcess } from '../support/stowage-cli.js';
import { CsiClient } from './csi-client.js';
import {
  csiSanityBinary,
  expectSanityPassed,
  GET_CAPACITY_SPEC,
  runCsiSanity,
  sanityCounts,
  sanityPlaces,
} from './csi-sanity.js';

const mountCapability = (mode = 'SINGLE_NODE_WRITER') => ({ mount: {}, access_mode: { mode } });

describe('`stowage csi` on the local backing (root: real bind mounts)', () => {
  let dir: string;
  let endpoint: string;
  let env: NodeJS.ProcessEnv;
  let csi: ServeProcess | undefined;
  let sanity: string;

  const start = async () => {
    csi = await startCsi(env, ['--endpoint', endpoint, '--node-id', 'csi-e2e-node']);
  };

  beforeAll(async () => {
    // Built once from the Go module proxy (about 80 s on 2 cores), then taken from the cache.
    sanity = await csiSanityBinary();
    dir = await mkdtemp(join(tmpdir(), 'stowage-csi-e2e-'));
    endpoint = `unix://${join(dir, 'run', 'csi.sock')}`;
    env = cliEnv({ STOWAGE_STATE_DIR: join(dir, 'state'), STOWAGE_LOCAL_ROOT: join(dir, 'volumes') });
    await start();
  });

  afterAll(async () => {
    await csi?.stop();
    if (dir) {
      await unmountAllUnder(dir);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('passes csi-sanity, idempotency checks included; skips only what it does not advertise', async () => {
    const result = await runCsiSanity(sanity, {
      ...(await sanityPlaces(dir)),
      endpoint,
    });
    console.log(`csi-sanity v5.6.0 against stowage csi (local): ${sanityCounts(result)}`);

    // The specs that publish for real (the volume lifecycle, NodePublish sent 10 times over) ran and passed, and so did
    // GetCapacity's: the local backing has a number (its file system's free space), so it is advertised.
    expectSanityPassed(result, { mustPass: [GET_CAPACITY_SPEC] });
    expect(await mountsUnder(dir)).toEqual([]);
  });

  it('publishes with bind mounts that outlive a plugin restart, read-only where asked, and releases them all', async () => {
    const client = new CsiClient(endpoint);
    try {
      const a = join(dir, 'pods', 'a', 'mount');
      const b = join(dir, 'pods', 'b', 'mount');
      await mkdir(join(dir, 'pods', 'a'), { recursive: true });
      await mkdir(join(dir, 'pods', 'b'), { recursive: true });
      const volume = { volume_id: 'e2e-data', volume_capability: mountCapability() };

      const created = await client.call('controller', 'CreateVolume', {
        name: 'e2e-data',
        volume_capabilities: [mountCapability()],
      });
      expect(created.error).toBeUndefined();
      expect((await client.call('node', 'NodePublishVolume', { ...volume, target_path: a })).error).toBeUndefined();
      await writeFile(join(a, 'hello'), 'written through a\n');
      const readOnly = { ...volume, target_path: b, readonly: true };
      expect((await client.call('node', 'NodePublishVolume', readOnly)).error).toBeUndefined();
      expect(await readFile(join(b, 'hello'), 'utf8')).toBe('written through a\n');
      await expect(writeFile(join(b, 'other'), 'x')).rejects.toMatchObject({ code: 'EROFS' });

      // A restarted plugin knows what it published from the journal and the mount table.
      await csi?.stop();
      await start();
      expect((await mountsUnder(dir)).sort()).toEqual([a, b].sort());
      expect((await client.call('node', 'NodePublishVolume', { ...volume, target_path: a })).error).toBeUndefined();
      expect((await mountsUnder(dir)).sort()).toEqual([a, b].sort());
      const deleteInUse = await client.call('controller', 'DeleteVolume', { volume_id: 'e2e-data' });
      expect(deleteInUse.error?.code).toBe(status.FAILED_PRECONDITION);

      for (const target of [a, b]) {
        expect(
          (await client.call('node', 'NodeUnpublishVolume', { volume_id: 'e2e-data', target_path: target })).error,
        ).toBeUndefined();
        await expect(stat(target)).rejects.toMatchObject({ code: 'ENOENT' });
      }
      expect(await mountsUnder(dir)).toEqual([]);
      // Deletable now: no hold was left behind by the restart, the repeated publish or the read-only one.
      expect((await client.call('controller', 'DeleteVolume', { volume_id: 'e2e-data' })).error).toBeUndefined();
    } finally {
      client.close();
    }
  });

  it("answers GetCapacity with the local root's free space, which a published volume's writes use up", async () => {
    // A file system of its own, so nothing else writes to it between the readings: a 64 MiB tmpfs.
    const root = join(dir, 'small-root');
    await mkdir(root);
    await runChecked('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'tmpfs', root]);
    const small = `unix://${join(dir, 'small', 'csi.sock')}`;
    await mkdir(join(dir, 'pods'), { recursive: true });
    const plugin = await startCsi(
      { ...env, STOWAGE_STATE_DIR: join(dir, 'small', 'state'), STOWAGE_LOCAL_ROOT: join(root, 'volumes') },
      ['--endpoint', small],
    );
    const client = new CsiClient(small);
    try {
      const capacity = async () => {
        const answer = await client.call<{ available_capacity: string }>('controller', 'GetCapacity', {});
        expect(answer.error).toBeUndefined();
        return Number(answer.answer?.available_capacity);
      };
      const MiB = 1024 ** 2;
      const empty = await capacity();
      expect(empty).toBeLessThanOrEqual(64 * MiB);
      expect(empty).toBeGreaterThan(63 * MiB);

      const volume = { volume_id: 'filler', volume_capability: mountCapability() };
      expect(
        (await client.call('controller', 'CreateVolume', { name: 'filler', volume_capabilities: [mountCapability()] }))
          .error,
      ).toBeUndefined();
      const target = join(dir, 'pods', 'filler');
      expect(
        (await client.call('node', 'NodePublishVolume', { ...volume, target_path: target })).error,
      ).toBeUndefined();
      await writeFile(join(target, 'sixteen'), Buffer.alloc(16 * MiB, 1));
      const used = empty - (await capacity());
      expect(used).toBeGreaterThanOrEqual(16 * MiB);
      expect(used).toBeLessThan(17 * MiB);

      expect(
        (await client.call('node', 'NodeUnpublishVolume', { volume_id: 'filler', target_path: target })).error,
      ).toBeUndefined();
      expect((await client.call('controller', 'DeleteVolume', { volume_id: 'filler' })).error).toBeUndefined();
      // The name is free when DeleteVolume answers; the files go just after, in the background, as a CO asking
      // again finds.
      await expect.poll(capacity, { timeout: 30_000, interval: 100 }).toBe(empty);
    } finally {
      client.close();
      await plugin.stop();
      await runChecked('umount', [root]);
    }
  });
});
