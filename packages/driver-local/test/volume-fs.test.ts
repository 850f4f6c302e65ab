import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIRECT_FS, POOL_FS } from '../src/volume-fs.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stowage-volume-fs-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The error code a call rejected with. */
async function codeOf(call: Promise<unknown>): Promise<string | undefined> {
  try {
    await call;
    return undefined;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code;
  }
}

// The provider tells outcomes apart by error code (a name taken, a volume gone): both kinds must reject alike.
describe.each([DIRECT_FS, POOL_FS])('$kind file calls', (fs) => {
  it('build, fill and publish a directory as a create does', async () => {
    const temp = await fs.mkdtemp(join(dir, '.creating-v-'));
    await fs.mkdir(join(temp, '_data'));
    await fs.chmod(join(temp, '_data'), 0o750);
    await fs.writeNewFile(join(temp, 'volume.json'), '{"name":"v","é":"ü"}\n'.repeat(100), 0o600);
    await fs.rename(temp, join(dir, 'v'));
    expect((await fs.lstat(join(dir, 'v'))).isDirectory()).toBe(true);
    expect((await fs.stat(join(dir, 'v', '_data'))).mode & 0o777).toBe(0o750);
    expect((await stat(join(dir, 'v', 'volume.json'))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(dir, 'v', 'volume.json'), 'utf8')).toBe('{"name":"v","é":"ü"}\n'.repeat(100));
  });

  it('reject with the codes the provider reads: EEXIST, ENOTEMPTY, ENOENT', async () => {
    await fs.mkdir(join(dir, 'taken'));
    await fs.writeNewFile(join(dir, 'taken', 'volume.json'), '{}', 0o600);
    expect(await codeOf(fs.mkdir(join(dir, 'taken')))).toBe('EEXIST');
    expect(await codeOf(fs.writeNewFile(join(dir, 'taken', 'volume.json'), 'again', 0o600))).toBe('EEXIST');
    await fs.mkdir(join(dir, 'other'));
    await fs.writeNewFile(join(dir, 'other', 'f'), 'x', 0o600);
    expect(await codeOf(fs.rename(join(dir, 'other'), join(dir, 'taken')))).toMatch(/^(ENOTEMPTY|EEXIST)$/);
    expect(await codeOf(fs.lstat(join(dir, 'missing')))).toBe('ENOENT');
    expect(await codeOf(fs.rename(join(dir, 'missing'), join(dir, 'elsewhere')))).toBe('ENOENT');
    expect(await codeOf(fs.chmod(join(dir, 'missing'), 0o700))).toBe('ENOENT');
    expect(await readFile(join(dir, 'taken', 'volume.json'), 'utf8')).toBe('{}');
  });
});
