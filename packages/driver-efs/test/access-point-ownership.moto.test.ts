import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CreateAccessPointCommand,
  DescribeAccessPointsCommand,
  type AccessPointDescription,
} from '@aws-sdk/client-efs';
import { ErrorKind, StowageError } from '@stowage/core';
import { fileSystemEntries, fileSystemRoot } from './support/efs-nodes.js';
import { expectStowageError as failure } from '@stowage/core/testing';
import { useEfsTestWorld } from './support/efs-test-world.js';

const t = useEfsTestWorld();

/** A file system holding data that is no volume's at its root, in `/other`, and in `/x`. */
async function fileSystemWithData(): Promise<{ id: string; root: string }> {
  const id = await t.world.fileSystem();
  const root = await fileSystemRoot(t.dir.exports, id);
  for (const sub of ['other', 'x', '']) {
    await mkdir(join(root, sub), { recursive: true });
    await writeFile(join(root, sub, 'precious'), `data in /${sub}\n`);
  }
  return { id, root };
}

async function dataLeft(root: string): Promise<string[]> {
  const left: string[] = [];
  for (const sub of ['other', 'x', '']) {
    left.push(await readFile(join(root, sub, 'precious'), 'utf8').catch(() => `/${sub}/precious is gone`));
  }
  return left;
}

/** An access point made by hand (not by Stowage) and tagged as the volume `name`. */
async function misTagged(
  fileSystemId: string,
  name: string,
  path: string,
  clientToken = `by-hand-${name}-${path}`,
): Promise<string> {
  const point = await t.world.efs.send(
    new CreateAccessPointCommand({
      ClientToken: clientToken,
      FileSystemId: fileSystemId,
      Tags: [{ Key: 'stowage:volume', Value: name }],
      RootDirectory: { Path: path },
    }),
  );
  return point.AccessPointId as string;
}

async function accessPoints(fileSystemId: string): Promise<AccessPointDescription[]> {
  return (await t.world.efs.send(new DescribeAccessPointsCommand({ FileSystemId: fileSystemId }))).AccessPoints ?? [];
}

describe('removing an access point volume', () => {
  it.each(['/', '/other', '/x'])(
    'refuses an access point tagged stowage:volume=x by hand, rooted at %s, deleting neither it nor any data',
    async (path) => {
      const { id, root } = await fileSystemWithData();
      const pointId = await misTagged(id, 'x', path);
      const { engine } = await t.nodes.start('a', { fileSystemId: id, accessPoints: true });

      const error = await engine.remove('x').then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(await dataLeft(root)).toEqual(['data in /other\n', 'data in /x\n', 'data in /\n']);
      expect((await accessPoints(id)).map((point) => point.AccessPointId)).toEqual([pointId]);
      expect(StowageError.is(error, ErrorKind.BackendFailure), String(error)).toBe(true);
      expect(error?.message).toMatch(
        new RegExp(
          `access point ${pointId} \\(root "${path}" on file system ${id}\\) is tagged stowage:volume=x but was not created by Stowage, so Stowage deletes neither it nor any data`,
        ),
      );
      // Inspect says why.
      expect((await engine.get('x'))?.status).toMatchObject({
        accessPointId: pointId,
        createdByStowage: false,
        rootDirectory: path,
      });
    },
  );

  it('deletes an access point Stowage made whose root is not /<name>, but none of the data there, and says so', async () => {
    const { id, root } = await fileSystemWithData();
    // As if Stowage's own request (its client token is the SHA-256 of `<fs-id>/<name>`) had been answered with an
    // access point rooted elsewhere.
    await misTagged(id, 'x', '/', createHash('sha256').update(`${id}/x`).digest('hex'));
    const { engine } = await t.nodes.start('a', { fileSystemId: id, accessPoints: true });

    const error = await engine.remove('x').then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(await dataLeft(root)).toEqual(['data in /other\n', 'data in /x\n', 'data in /\n']);
    expect(error?.message).toMatch(
      /access point fsap-\w+ of volume "x" is deleted, but its root directory "\/" on file system fs-\w+ is not \/x, so Stowage deleted no data there/,
    );
    expect(await accessPoints(id)).toEqual([]);
    expect(await engine.get('x')).toBeUndefined();
  });

  it('deletes its own access point and /<name> only, when one tagged by hand with the same name sits beside it', async () => {
    const { id, root } = await fileSystemWithData();
    const { engine } = await t.nodes.start('a', { fileSystemId: id, accessPoints: true });
    await engine.create('mine', { backing: 'shared' });
    await writeFile(join(await engine.mount('mine', 'c1'), 'f'), 'x');
    await engine.unmount('mine', 'c1');
    const handMade = await misTagged(id, 'mine', '/other');

    // One volume of that name, Stowage's own.
    const listed = (await engine.list()).filter((volume) => volume.name === 'mine');
    expect(listed).toHaveLength(1);
    expect(listed[0]?.status).not.toHaveProperty('createdByStowage');

    await engine.remove('mine');
    expect((await accessPoints(id)).map((point) => point.AccessPointId)).toEqual([handMade]);
    expect((await fileSystemEntries(root)).root).toEqual(['other', 'precious', 'x']);
    expect(await dataLeft(root)).toEqual(['data in /other\n', 'data in /x\n', 'data in /\n']);
  });
});

describe('creating an access point volume where /<name> exists', () => {
  it('is refused without adopt=yes, making no access point', async () => {
    const { id, root } = await fileSystemWithData();
    const { engine } = await t.nodes.start('a', { fileSystemId: id, accessPoints: true });
    const error = await failure(engine.create('x', { backing: 'shared' }));
    expect(error.kind).toBe(ErrorKind.AlreadyExists);
    expect(error.message).toMatch(
      /\/x already exists on file system fs-\w+ and no Stowage access point is rooted there; .* create it with --opt adopt=yes/,
    );
    expect(await accessPoints(id)).toEqual([]);
    expect(await dataLeft(root)).toEqual(['data in /other\n', 'data in /x\n', 'data in /\n']);
    expect((await fileSystemEntries(root)).root).toEqual(['other', 'precious', 'x']);
  });

  it('adopts the directory with adopt=yes: the volume has its data, and removing it keeps the directory', async () => {
    const { id, root } = await fileSystemWithData();
    const { engine } = await t.nodes.start('a', { fileSystemId: id, accessPoints: true });
    const volume = await engine.create('x', { backing: 'shared', adopt: 'true', uid: '1000', gid: '1000' });
    expect(volume.status).toMatchObject({ adopted: true });
    expect((await accessPoints(id))[0]?.Tags).toEqual(
      expect.arrayContaining([{ Key: 'stowage:adopted', Value: 'true' }]),
    );
    const path = await engine.mount('x', 'c1');
    expect(await readFile(join(path, 'precious'), 'utf8')).toBe('data in /x\n');
    await engine.unmount('x', 'c1');

    await engine.remove('x');
    expect(await accessPoints(id)).toEqual([]);
    expect(await dataLeft(root)).toEqual(['data in /other\n', 'data in /x\n', 'data in /\n']);
  });
});
