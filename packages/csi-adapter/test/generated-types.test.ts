import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const PACKAGE = fileURLToPath(new URL('..', import.meta.url));

async function filesUnder(dir: string): Promise<Map<string, string>> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = new Map<string, string>();
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files.set(relative(dir, path), await readFile(path, 'utf8'));
  }
  return files;
}

describe('the checked-in message types', () => {
  it('are what `pnpm generate` makes of the vendored csi.proto (regenerate and commit after changing the proto)', async () => {
    const out = await mkdtemp(join(tmpdir(), 'stowage-csi-gen-'));
    try {
      const script = JSON.parse(await readFile(join(PACKAGE, 'package.json'), 'utf8')).scripts.generate as string;
      const [command, ...args] = script.split(' ');
      const withOut = args.map((arg) => (arg === '--outDir=src/generated' ? `--outDir=${out}` : arg));
      expect(withOut).toContain(`--outDir=${out}`);
      await promisify(execFile)(join(PACKAGE, 'node_modules', '.bin', command as string), withOut, { cwd: PACKAGE });
      const fresh = await filesUnder(out);
      const checkedIn = await filesUnder(join(PACKAGE, 'src', 'generated'));
      expect([...checkedIn.keys()].sort()).toEqual([...fresh.keys()].sort());
      for (const [path, text] of fresh) expect(checkedIn.get(path), path).toBe(text);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});
