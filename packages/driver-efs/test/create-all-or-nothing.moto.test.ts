import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorKind } from '@stowage/core';
import { fileSystemEntries, fileSystemRoot } from './support/efs-nodes.js';
import { expectStowageError as failure } from '@stowage/core/testing';
import { useEfsTestWorld } from './support/efs-test-world.js';
import { refuseOwnersFrom } from './support/owner-refusing-stand-in.js';
import { SteppedFileOperations } from './support/stepped-file-operations.js';

const t = useEfsTestWorld();

describe('a shared volume create is all or nothing', () => {
  it('leaves no volume, record or directory when the file system refuses the owner, and a retry does not "succeed" with none', async () => {
    const id = await t.world.fileSystem();
    // Ids from 1000 up are refused, as an EFS file system squashing root refuses root's chown to uid 1234.
    const root = await refuseOwnersFrom(t.dir, id, 1000);
    const { engine } = await t.nodes.start('a', { fileSystemId: id });

    const first = await failure(engine.create('squashed', { backing: 'shared', uid: '1234' }));
    expect(first.message).toMatch(/volume "squashed".*(EOVERFLOW|value too large)/i);
    expect(await engine.get('squashed')).toBeUndefined();
    expect(await engine.list()).toEqual([]);
    expect(await fileSystemEntries(root)).toEqual({ root: [], meta: [], work: [] });

    // Docker's Get answers nothing, so Docker calls Create again: it fails again, rather than answering a volume.
    await failure(engine.create('squashed', { backing: 'shared', uid: '1234' }));
    expect(await engine.get('squashed')).toBeUndefined();
    const mount = await failure(engine.mount('squashed', 'c1'));
    expect(mount.kind).toBe(ErrorKind.NotFound);

    // An owner the file system accepts makes a whole volume of the same name.
    await engine.create('squashed', { backing: 'shared', uid: '999', mode: '0750' });
    const path = await engine.mount('squashed', 'c1');
    const made = await stat(path);
    expect([made.isDirectory(), made.uid, made.mode & 0o777]).toEqual([true, 999, 0o750]);
    await engine.unmount('squashed', 'c1');
    expect(await fileSystemEntries(root)).toEqual({
      root: ['.stowage', 'squashed'],
      meta: ['squashed.json'],
      work: [],
    });
  });

  it.each(['mkdir', 'chown', 'chmod', 'rename', 'link', 'writeNewFile'] as const)(
    'leaves nothing behind when its %s fails, and the next create makes the volume whole',
    async (op) => {
      const id = await t.world.fileSystem();
      const root = await fileSystemRoot(t.dir.exports, id);
      await mkdir(join(root, 'cloudstor-vol'));
      await writeFile(join(root, 'cloudstor-vol', 'keep'), 'not stowage data\n');
      const ops = new SteppedFileOperations();
      const { engine } = await t.nodes.start('a', { fileSystemId: id }, { fileOperations: ops });
      // The volume's own steps only: the draft directory, its move into place, the record's publication.
      ops.refuse(({ op: called, path }, args) => {
        if (called !== op) return false;
        if (op === 'link') return String(args[0]).endsWith('/.stowage/vol.json');
        if (op === 'writeNewFile') return path.includes('/record.');
        return path.includes('/draft.');
      }, 'EIO');

      const error = await failure(engine.create('vol', { backing: 'shared', uid: '1000', mode: '0700' }));
      expect(error.message).toMatch(/EIO/);
      expect(await engine.get('vol')).toBeUndefined();
      expect(await fileSystemEntries(root)).toEqual({ root: ['cloudstor-vol'], meta: [], work: [] });
      expect(ops.steps.some((step) => step.op === op)).toBe(true);

      const retry = await t.nodes.start('b', { fileSystemId: id });
      await retry.engine.create('vol', { backing: 'shared', uid: '1000', mode: '0700' });
      const path = await retry.engine.mount('vol', 'c1');
      expect([(await stat(path)).uid, (await stat(path)).mode & 0o777]).toEqual([1000, 0o700]);
      await retry.engine.unmount('vol', 'c1');
      expect(await fileSystemEntries(root)).toEqual({
        root: ['.stowage', 'cloudstor-vol', 'vol'],
        meta: ['vol.json'],
        work: [],
      });
    },
  );
});

describe('mounting a shared volume', () => {
  it('refuses a volume whose directory is gone instead of handing out an empty or missing one', async () => {
    const id = await t.world.fileSystem();
    const root = await fileSystemRoot(t.dir.exports, id);
    const { engine } = await t.nodes.start('a', { fileSystemId: id });
    await engine.create('lost', { backing: 'shared' });
    await rm(join(root, 'lost'), { recursive: true });

    const error = await failure(engine.mount('lost', 'c1'));
    expect(error.kind).toBe(ErrorKind.BackendFailure);
    expect(error.message).toMatch(
      /volume "lost" has no directory \/lost on file system fs-\w+, so its data is not there/,
    );
    expect(await fileSystemEntries(root)).toEqual({ root: ['.stowage'], meta: ['lost.json'], work: [] });
    // Nothing is left mounted or counted for the failed Mount, and the volume can still be removed.
    expect(await engine.get('lost')).toMatchObject({ status: { mounts: 0 } });
    await engine.remove('lost');
    expect(await fileSystemEntries(root)).toEqual({ root: [], meta: [], work: [] });
  });
});
