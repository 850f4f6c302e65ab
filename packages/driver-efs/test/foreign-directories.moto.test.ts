import { mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorKind } from '@stowage/core';
import { fileSystemEntries, fileSystemRoot } from './support/efs-nodes.js';
import { expectStowageError as failure } from '@stowage/core/testing';
import { useEfsTestWorld } from './support/efs-test-world.js';

const t = useEfsTestWorld();

/** A file system as Cloudstor left it: each volume a plain directory `/<name>`, no record anywhere. */
async function cloudstorFileSystem(): Promise<{ id: string; root: string }> {
  const id = await t.world.fileSystem();
  const root = await fileSystemRoot(t.dir.exports, id);
  await mkdir(join(root, 'sharedvol1', 'db'), { recursive: true });
  await writeFile(join(root, 'sharedvol1', 'db', 'data'), 'written under cloudstor\n');
  return { id, root };
}

describe('a directory at /<name> that Stowage did not create', () => {
  it('is refused by a create, with what to do, and every file in it is kept', async () => {
    const { id, root } = await cloudstorFileSystem();
    const { engine } = await t.nodes.start('a', { fileSystemId: id });

    const error = await failure(engine.create('sharedvol1', { backing: 'shared' }));
    expect(error.kind).toBe(ErrorKind.AlreadyExists);
    expect(error.message).toMatch(/\/sharedvol1 already exists on file system fs-\w+ and is not a Stowage volume/);
    expect(error.message).toMatch(/create it with --opt adopt=yes/);
    expect(await readFile(join(root, 'sharedvol1', 'db', 'data'), 'utf8')).toBe('written under cloudstor\n');
    expect(await engine.get('sharedvol1')).toBeUndefined();
    expect(await fileSystemEntries(root)).toEqual({ root: ['sharedvol1'], meta: [], work: [] });
  });

  it('becomes the volume with adopt=yes, as it is; removing the volume keeps the directory and its data', async () => {
    const { id, root } = await cloudstorFileSystem();
    const before = await stat(join(root, 'sharedvol1'));
    const a = await t.nodes.start('a', { fileSystemId: id });
    const b = await t.nodes.start('b', { fileSystemId: id });

    const volume = await a.engine.create('sharedvol1', { backing: 'shared', adopt: 'yes' });
    expect(volume.status).toMatchObject({ fileSystemId: id, adopted: true });
    expect(volume.options).toMatchObject({ adopt: 'true' });
    // Every node sees it, and a container on any node gets the data that was there.
    expect((await b.engine.get('sharedvol1'))?.status).toMatchObject({ adopted: true });
    const path = await b.engine.mount('sharedvol1', 'task-1');
    expect(await readFile(join(path, 'db', 'data'), 'utf8')).toBe('written under cloudstor\n');
    await writeFile(join(path, 'db', 'more'), 'written under stowage\n');
    await b.engine.unmount('sharedvol1', 'task-1');
    // Adopted as it was: same directory, same owner and mode.
    const after = await stat(join(root, 'sharedvol1'));
    expect([after.ino, after.uid, after.mode]).toEqual([before.ino, before.uid, before.mode]);

    await a.engine.remove('sharedvol1');
    expect(await a.engine.get('sharedvol1')).toBeUndefined();
    expect(await readFile(join(root, 'sharedvol1', 'db', 'data'), 'utf8')).toBe('written under cloudstor\n');
    expect(await readFile(join(root, 'sharedvol1', 'db', 'more'), 'utf8')).toBe('written under stowage\n');
    expect(await fileSystemEntries(root)).toEqual({ root: ['sharedvol1'], meta: [], work: [] });
    // And it is foreign again: refused without adopt.
    await expect(a.engine.create('sharedvol1', { backing: 'shared' })).rejects.toThrow(/is not a Stowage volume/);
  });

  it('is not needed by adopt=yes: with nothing to adopt, the create is refused and makes nothing', async () => {
    const { id, root } = await cloudstorFileSystem();
    const { engine } = await t.nodes.start('a', { fileSystemId: id });
    const error = await failure(engine.create('sharedvol2', { backing: 'shared', adopt: 'yes' }));
    expect(error.kind).toBe(ErrorKind.InvalidArgument);
    expect(error.message).toMatch(/adopt=yes: there is no directory \/sharedvol2 on file system fs-\w+ to adopt/);
    expect(await fileSystemEntries(root)).toEqual({ root: ['sharedvol1'], meta: [], work: [] });
  });

  it('keeps its owner: adopt=yes with uid or gid is refused before anything is done', async () => {
    const { id, root } = await cloudstorFileSystem();
    const { engine } = await t.nodes.start('a', { fileSystemId: id });
    const error = await failure(engine.create('sharedvol1', { backing: 'shared', adopt: 'yes', uid: '1000' }));
    expect(error.kind).toBe(ErrorKind.InvalidArgument);
    expect(error.message).toMatch(/uid and gid cannot be given with adopt=yes/);
    expect(await fileSystemEntries(root)).toEqual({ root: ['sharedvol1'], meta: [], work: [] });
  });

  it('is only a directory: a symlink or a file at /<name> is neither adopted nor touched', async () => {
    const { id, root } = await cloudstorFileSystem();
    await symlink('/', join(root, 'escape'));
    await writeFile(join(root, 'plain'), 'a file\n');
    const { engine } = await t.nodes.start('a', { fileSystemId: id });
    for (const name of ['escape', 'plain']) {
      await expect(engine.create(name, { backing: 'shared' })).rejects.toThrow(/is not a Stowage volume/);
      await expect(engine.create(name, { backing: 'shared', adopt: 'yes' })).rejects.toThrow(
        /is not a directory; only a directory can be adopted/,
      );
    }
    expect(await readFile(join(root, 'plain'), 'utf8')).toBe('a file\n');
    expect(await fileSystemEntries(root)).toEqual({ root: ['escape', 'plain', 'sharedvol1'], meta: [], work: [] });
  });

  it('is never touched by creates and removes of other volumes beside it', async () => {
    const { id, root } = await cloudstorFileSystem();
    const { engine } = await t.nodes.start('a', { fileSystemId: id });
    await engine.create('fresh', { backing: 'shared' });
    await writeFile(join(await engine.mount('fresh', 'c'), 'f'), 'x');
    await engine.unmount('fresh', 'c');
    await engine.remove('fresh');
    expect(await readFile(join(root, 'sharedvol1', 'db', 'data'), 'utf8')).toBe('written under cloudstor\n');
    expect(await fileSystemEntries(root)).toEqual({ root: ['sharedvol1'], meta: [], work: [] });
  });
});
