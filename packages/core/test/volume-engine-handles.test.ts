import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_VOLUME_REF_LENGTH } from '../src/contract/storage-provider.js';
import { MOUNT_TABLE_FILE } from '../src/engine/mount-table.js';
import { useEngineHarness } from './support/engine-harness.js';

// The engine hands a provider what it already knows of a volume, so the provider acts on it without finding it by
// name again (one DescribeVolumes per Mount on EBS instead of two).
describe('VolumeEngine hands providers their volumes', () => {
  const h = useEngineHarness();
  const handlesOf = (op: 'mount' | 'unmount' | 'remove') =>
    h.provider.handles.filter((c) => c.op === op).map((c) => c.handle);

  it('gives a Mount the volume inspect answered under the lock, with its ref, and records that ref', async () => {
    const engine = await h.start();
    await engine.create('v', { size: '1' });
    await engine.mount('v', 'c1');
    const [handle] = handlesOf('mount');
    // The very answer inspect gave: nothing was looked up again in between.
    expect(handle?.volume).toBe(h.provider.volumes.get('v'));
    expect(handle).toMatchObject({ name: 'v', ref: 'mem-v' });
    expect(await h.recordOf('v')).toMatchObject({ state: 'mounted', ref: 'mem-v' });
  });

  it('gives the Unmount after a restart, and the remount at start-up, the ref recorded at the Mount', async () => {
    const engine = await h.start();
    await engine.create('v', { size: '1' });
    await engine.mount('v', 'c1');
    await engine.stop();

    const restarted = await h.start();
    expect(handlesOf('mount').at(-1)).toEqual({ name: 'v', ref: 'mem-v' });
    await restarted.unmount('v', 'c1');
    expect(handlesOf('unmount')).toEqual([{ name: 'v', ref: 'mem-v' }]);
    expect(await h.recordOf('v')).toBeUndefined();
  });

  it('records the ref a Mount answers when the volume became another on the way, and unmounts with it', async () => {
    const engine = await h.start();
    await engine.create('v', { size: '1' });
    h.provider.mountedRef = 'mem-v-moved';
    await engine.mount('v', 'c1');
    expect(handlesOf('mount')[0]?.ref).toBe('mem-v');
    expect(await h.recordOf('v')).toMatchObject({ ref: 'mem-v-moved' });
    await engine.unmount('v', 'c1');
    expect(handlesOf('unmount')).toEqual([{ name: 'v', ref: 'mem-v-moved' }]);
  });

  it('gives a Remove the volume inspect answered, with its ref', async () => {
    const engine = await h.start();
    await engine.create('v', { size: '1' });
    const volume = h.provider.volumes.get('v');
    await engine.remove('v');
    expect(handlesOf('remove')).toEqual([{ name: 'v', ref: 'mem-v', volume }]);
    expect(handlesOf('remove')[0]?.volume).toBe(volume);
  });

  it('gives a Remove that first finished a release only the name and the recorded ref: the lookup is out of date', async () => {
    await h.provider.create({ name: 'v', options: {} });
    const releasing = { backing: 'mem', state: 'unmounting', ref: 'mem-v', callers: [] };
    await writeFile(
      join(h.stateDir, MOUNT_TABLE_FILE),
      JSON.stringify({ version: 2, volumes: [{ volume: 'v', record: releasing }] }),
    );
    h.provider.failNext.unmount = new Error('device busy');
    const engine = await h.start();
    expect(await h.recordOf('v')).toMatchObject({ state: 'unmounting' });

    await engine.remove('v');
    expect(handlesOf('unmount').at(-1)).toEqual({ name: 'v', ref: 'mem-v' });
    expect(handlesOf('remove')).toEqual([{ name: 'v', ref: 'mem-v' }]);
  });

  it('hands the name alone for a record of an older version, written without a ref', async () => {
    await h.provider.create({ name: 'v', options: {} });
    const older = { backing: 'mem', state: 'mounted', mountpoint: '/mnt/mem/v', callers: [{ id: 'c1', count: 1 }] };
    await writeFile(
      join(h.stateDir, MOUNT_TABLE_FILE),
      JSON.stringify({ version: 2, volumes: [{ volume: 'v', record: older }] }),
    );
    const engine = await h.start();
    expect(handlesOf('mount')).toEqual([{ name: 'v' }]);
    await engine.unmount('v', 'c1');
    expect(handlesOf('unmount')).toEqual([{ name: 'v' }]);
  });

  it.each([
    ['too long', 'r'.repeat(MAX_VOLUME_REF_LENGTH + 1), `longer than ${MAX_VOLUME_REF_LENGTH} characters`],
    ['with control characters', 'vol-1\nx', 'holds control characters'],
  ])('records no ref that is %s, logs it, and still mounts and unmounts by name', async (_what, ref, problem) => {
    h.provider.refOf = () => ref;
    const engine = await h.start();
    await engine.create('v', { size: '1' });
    expect(await engine.mount('v', 'c1')).toBe('/mnt/mem/v');
    const [handle] = handlesOf('mount');
    expect(handle).not.toHaveProperty('ref');
    expect(handle?.volume?.ref).toBe(ref);
    expect(await h.recordOf('v')).toMatchObject({ state: 'mounted' });
    expect(await h.recordOf('v')).not.toHaveProperty('ref');
    expect(h.logger.problems()).toEqual([
      {
        level: 'warn',
        fields: { volume: 'v', backing: 'mem', problem },
        message: 'the backing answered a ref that is not recorded',
      },
    ]);
    await engine.unmount('v', 'c1');
    expect(handlesOf('unmount')).toEqual([{ name: 'v' }]);
  });
});
