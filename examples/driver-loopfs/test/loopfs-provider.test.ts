import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorKind, SystemHostOperations, createLogger } from '@stowage/core';
import { expectStowageError } from '@stowage/core/testing';
import { LoopfsProvider } from '../src/index.js';

const logger = createLogger({ level: 'silent' });
const host = new SystemHostOperations({ logger });

let base: string;
let root: string;
let provider: LoopfsProvider;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'stowage-loopfs-'));
  root = join(base, 'loopfs');
  provider = await started();
});

afterEach(async () => {
  for (const target of (await host.listMounts(base)).map((m) => m.target).reverse()) await host.unmount(target);
  await rm(base, { recursive: true, force: true });
});

async function started(): Promise<LoopfsProvider> {
  const p = new LoopfsProvider({ root }, host, logger);
  await p.init();
  return p;
}

describe('loopfs bookkeeping', () => {
  it('deletes half-made images and images whose metadata is gone at start, and nothing else', async () => {
    await writeFile(join(root, '.creating-half-0badc0de.img'), 'x');
    await writeFile(join(root, '.meta-0badc0de.tmp'), '{');
    await writeFile(join(root, 'orphan.img'), 'x');
    await writeFile(join(root, 'kept.img'), 'x');
    await writeFile(join(root, 'kept.json'), JSON.stringify({ name: 'kept', createdAt: new Date().toISOString(), options: { size: '16' } }));
    await writeFile(join(root, 'notes.txt'), 'operator notes');
    await started();
    expect((await readdir(root)).sort()).toEqual(['kept.img', 'kept.json', 'mounts', 'notes.txt']);
  });

  it('answers undefined only for a missing name, and a backend failure when the root is gone or the metadata is bad', async () => {
    expect(await provider.inspect('nothing')).toBeUndefined();
    await writeFile(join(root, 'bad.json'), '{ nope');
    await writeFile(join(root, 'renamed.json'), JSON.stringify({ name: 'other', createdAt: new Date().toISOString(), options: {} }));
    for (const name of ['bad', 'renamed']) {
      expect((await expectStowageError(provider.inspect(name), ErrorKind.BackendFailure)).message).toContain(join(root, `${name}.json`));
    }
    expect((await provider.list()).map((v) => v.name)).toEqual([]);

    await rm(root, { recursive: true });
    await expectStowageError(provider.inspect('nothing'), ErrorKind.BackendFailure);
    await expectStowageError(provider.remove('nothing'), ErrorKind.BackendFailure);
  });

  it('refuses names that would leave the root, whatever the engine let through', async () => {
    await mkdir(join(base, 'outside'));
    for (const name of ['../outside', '..', '.hidden', 'a/b', '']) {
      await expectStowageError(provider.inspect(name), ErrorKind.InvalidArgument);
      await expectStowageError(provider.create({ name, options: { size: 16 } }), ErrorKind.InvalidArgument);
      await expectStowageError(provider.mount(name), ErrorKind.InvalidArgument);
    }
    expect(await readdir(root)).toEqual(['mounts']);
  });
});
