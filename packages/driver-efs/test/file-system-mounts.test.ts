import { describe, expect, it } from 'vitest';
import { createLogger } from '@stowage/core';
import { FileSystemMounts, NfsMounter } from '../src/index.js';
import { FakeHost } from './support/fake-host.js';

const ROOT = '/state/drivers/efs/mounts/fs';
const FS = 'fs-12345678';
const TARGET = `${ROOT}/${FS}`;

function setup(): { host: FakeHost; mounts: FileSystemMounts } {
  const host = new FakeHost();
  const mounter = new NfsMounter(host, { region: 'us-east-1', dnsSuffix: 'amazonaws.com', tls: false });
  return { host, mounts: new FileSystemMounts(host, mounter, ROOT, createLogger({ level: 'silent' })) };
}

describe('FileSystemMounts: one mount of a file system per node, counted by holder', () => {
  it('mounts once for many volumes and unmounts only after the last release', async () => {
    const { host, mounts } = setup();
    expect(await mounts.hold(FS, 'volume:a')).toBe(TARGET);
    expect(await mounts.hold(FS, 'volume:b')).toBe(TARGET);
    expect(host.count('mount')).toBe(1);

    await mounts.release(FS, 'volume:a');
    expect(host.count('unmount')).toBe(0);
    await mounts.release(FS, 'volume:b');
    expect(host.calls.filter((c) => c.op === 'unmount')).toEqual([{ op: 'unmount', target: TARGET }]);
  });

  it('counts a holder once however often it holds (the engine re-mounting after a restart)', async () => {
    const { host, mounts } = setup();
    await mounts.hold(FS, 'volume:a');
    await mounts.hold(FS, 'volume:a');
    await mounts.release(FS, 'volume:a');
    expect(host.count('mount')).toBe(1);
    expect(host.count('unmount')).toBe(1);
    await mounts.release(FS, 'volume:a');
    expect(host.count('unmount')).toBe(1);
  });

  it('keeps the file system mounted for the driver across volumes coming and going, mounting once', async () => {
    const { host, mounts } = setup();
    expect(await mounts.keep(FS)).toBe(TARGET);
    await mounts.hold(FS, 'volume:a');
    await mounts.release(FS, 'volume:a');
    expect(await mounts.keep(FS)).toBe(TARGET);
    expect([host.count('mount'), host.count('unmount')]).toEqual([1, 0]);
    expect(mounts.holdersOf(FS)).toEqual(['driver:enabled']);
  });

  it('tries the mount again on the next use when it failed', async () => {
    const { host, mounts } = setup();
    const mount = host.mount.bind(host);
    host.mount = async () => Promise.reject(new Error('server not responding'));
    await expect(mounts.keep(FS)).rejects.toThrow('server not responding');
    host.mount = mount;
    expect(await mounts.keep(FS)).toBe(TARGET);
    expect(host.count('mount')).toBe(1);
  });

  it('on letting go, unmounts only when told to and no volume holds the file system', async () => {
    const { host, mounts } = setup();
    await mounts.keep(FS);
    await mounts.hold(FS, 'volume:a');
    await mounts.letGo(FS, true);
    expect(host.mounted.has(TARGET)).toBe(true);
    await mounts.release(FS, 'volume:a');
    expect(host.count('unmount')).toBe(1);

    await mounts.keep(FS);
    await mounts.letGo(FS, false);
    expect(host.mounted.has(TARGET)).toBe(true);
    await mounts.keep(FS);
    await mounts.letGo(FS, true);
    expect(host.mounted.has(TARGET)).toBe(false);
  });

  it('mounts once for parallel holders', async () => {
    const { host, mounts } = setup();
    await Promise.all(Array.from({ length: 8 }, (_, i) => mounts.hold(FS, `volume:${i}`)));
    expect(host.count('mount')).toBe(1);
    await Promise.all(Array.from({ length: 8 }, (_, i) => mounts.release(FS, `volume:${i}`)));
    expect(host.count('unmount')).toBe(1);
  });

  it('adopts a mount an earlier run left instead of stacking a second one', async () => {
    const { host, mounts } = setup();
    host.mounted.set(TARGET, 'leftover');
    await mounts.hold(FS, 'volume:a');
    expect(host.count('mount')).toBe(0);
  });

  it('unmounts, on reconcile, the file systems nobody holds and keeps the held ones', async () => {
    const { host, mounts } = setup();
    host.mounted.set(`${ROOT}/fs-aaaaaaaa`, 'left by a crash');
    await mounts.hold(FS, 'volume:a');
    await mounts.releaseUnheld();
    expect([...host.mounted.keys()]).toEqual([TARGET]);
  });
});
