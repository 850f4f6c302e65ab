import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));

/** Every file of the example a user reads or runs: sources, tests, manifests, configs, README; not dist. */
async function ownFiles(dir = packageDir): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await ownFiles(path)));
    else files.push(path);
  }
  return files;
}

// The example proves the engine is orchestrator-neutral (issue 11): it must build and run on core and drivers alone,
// so any mention of one orchestrator's concepts here means one leaked back into what an embedder has to know.
const ORCHESTRATOR_WORD = new RegExp(['dock', 'er'].join(''), 'i');

describe('the embedded scheduler knows no orchestrator but itself', () => {
  it('names none in its code, tests, manifest or config', async () => {
    const files = await ownFiles();
    expect(files.map((f) => relative(packageDir, f))).toEqual(expect.arrayContaining(['package.json', 'src/main.ts']));
    const mentions: string[] = [];
    for (const file of files) {
      const lines = (await readFile(file, 'utf8')).split('\n');
      lines.forEach((line, index) => {
        if (ORCHESTRATOR_WORD.test(line)) mentions.push(`${relative(packageDir, file)}:${index + 1}: ${line.trim()}`);
      });
    }
    expect(mentions).toEqual([]);
  });
});
