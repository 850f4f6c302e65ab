import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MountProbe } from '../src/mount-probe.js';

describe('MountProbe', () => {
  it('answers a directory that answers a stat, and fails with the error of one that does not', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stowage-probe-'));
    try {
      const probe = new MountProbe();
      await expect(probe.probe(dir)).resolves.toBeUndefined();
      await expect(probe.probe(join(dir, 'gone'))).rejects.toThrow(/ENOENT/);
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  it('starts no second stat of a mount point while the first blocks, and says how long it has blocked', async () => {
    const stats: string[] = [];
    let unblock = (): void => undefined;
    let now = 10_000;
    const probe = new MountProbe(
      (path) => {
        stats.push(path);
        // The first stat blocks, as one on a hung NFS server does, until the test lets it go; later ones answer.
        return stats.length === 1 ? new Promise<void>((resolve) => (unblock = resolve)) : Promise.resolve();
      },
      () => now,
    );
    const blocked = probe.probe('/mnt/fs-a');
    now += 7_000;
    await expect(probe.probe('/mnt/fs-a')).rejects.toThrow('/mnt/fs-a has not answered a stat for 7 s');
    // Another mount point is probed on its own.
    await expect(probe.probe('/mnt/fs-b')).resolves.toBeUndefined();
    expect(stats).toEqual(['/mnt/fs-a', '/mnt/fs-b']);
    unblock();
    await blocked;
    await expect(probe.probe('/mnt/fs-a')).resolves.toBeUndefined();
    expect(stats).toEqual(['/mnt/fs-a', '/mnt/fs-b', '/mnt/fs-a']);
  });
});
