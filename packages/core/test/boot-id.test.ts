import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BOOT_ID_FILE, isBootId, readBootId } from '../src/host/boot-id.js';

describe('the host boot ID', () => {
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stowage-boot-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is read as the kernel writes it, without its newline', async () => {
    const file = join(dir, 'boot_id');
    await writeFile(file, '3f1c2b9e-0d4a-4a57-9d7e-2a1b3c4d5e6f\n');
    expect(await readBootId(file)).toBe('3f1c2b9e-0d4a-4a57-9d7e-2a1b3c4d5e6f');
  });

  it.each([
    ['empty', ''],
    ['not an ID', 'a boot\n'],
    ['over 64 characters', `${'a'.repeat(65)}\n`],
  ])('is unknown when the file is %s', async (_, text) => {
    const file = join(dir, 'boot_id');
    await writeFile(file, text);
    expect(await readBootId(file)).toBeUndefined();
  });

  it('is unknown when the file cannot be read', async () => {
    expect(await readBootId(join(dir, 'missing'))).toBeUndefined();
    expect(await readBootId(dir)).toBeUndefined();
  });

  it.skipIf(process.platform !== 'linux')("is this Linux host's, the same at each read", async () => {
    const id = await readBootId();
    expect(isBootId(id)).toBe(true);
    expect(await readBootId(BOOT_ID_FILE)).toBe(id);
  });
});
