import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { call, mountpoint } from './support/plugin-calls.js';
import { useRunningPlugins } from './support/running-plugin.js';

const run = promisify(execFile);

/** The holds regression that needs root: a state directory on a tmpfs of its own, filled up (see holds-regressions.test.ts). */
describe('holds that nothing from outside can corrupt or lose, on a full disk', () => {
  const { plugin, cleanups } = useRunningPlugins();

  it('a Mount the table could not record (disk full) answers Err and is never counted, then or later', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stowage-full-'));
    const state = join(dir, 'state');
    await mkdir(state);
    // A state directory on a tiny file system of its own, filled up at will.
    await run('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', state]);
    cleanups.push(async () => {
      await run('umount', ['-l', state]).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    });
    const p = await plugin(dir);
    await call(p.socket, 'VolumeDriver.Create', { Name: 'v', Opts: {} });
    await mountpoint(p.socket, 'v', 'c1');

    const filler = join(state, 'filler');
    await writeFile(filler, Buffer.alloc(1024 * 1024)).catch(() => undefined);
    // The journal's last page may still have room: Mounts succeed until one needs a page the disk no longer has.
    const answered: string[] = ['c1'];
    let failure = '';
    for (let i = 2; i < 200 && failure === ''; i += 1) {
      const answer = await call(p.socket, 'VolumeDriver.Mount', { Name: 'v', ID: `c${i}` });
      if (answer.Err === '') answered.push(`c${i}`);
      else failure = answer.Err as string;
    }
    expect(failure).toContain('no space left on device');
    await rm(filler);

    answered.push('last');
    await mountpoint(p.socket, 'v', 'last');
    for (const id of answered)
      expect((await call(p.socket, 'VolumeDriver.Unmount', { Name: 'v', ID: id })).Err).toBe('');
    expect((await call(p.socket, 'VolumeDriver.Remove', { Name: 'v' })).Err).toBe('');
  });
});
