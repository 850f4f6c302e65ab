import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CreateAccessPointCommand, TagResourceCommand } from '@aws-sdk/client-efs';
import { fileSystemRoot } from './support/efs-nodes.js';
import { useEfsTestWorld } from './support/efs-test-world.js';

const t = useEfsTestWorld();

/** Names that are keys of every plain object: as option names or volume names they must be ordinary. */
const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'];

describe('outside input keyed like Object.prototype', () => {
  it('option tags named __proto__, constructor, toString... of an access point are listed as the plain options they are', async () => {
    const id = await t.world.fileSystem();
    const { engine } = await t.nodes.start('a', { fileSystemId: id, accessPoints: true });
    const created = await engine.create('tagged', { backing: 'shared' });
    await t.world.efs.send(
      new TagResourceCommand({
        ResourceId: created.status?.accessPointId as string,
        Tags: PROTOTYPE_KEYS.map((key) => ({ Key: `stowage:option:${key}`, Value: `value of ${key}` })),
      }),
    );
    const expected = [
      ...Object.entries(created.options),
      ...PROTOTYPE_KEYS.map((key) => [key, `value of ${key}`]),
    ].sort();
    const volume = await engine.get('tagged');
    expect(Object.entries(volume?.options ?? {}).sort()).toEqual(expected);
    const listed = (await engine.list()).find((v) => v.name === 'tagged');
    expect(Object.entries(listed?.options ?? {}).sort()).toEqual(expected);
    // What the Docker adapter sends: the JSON of the options, every key as given.
    expect(Object.keys(JSON.parse(JSON.stringify(volume?.options)) as object).sort()).toEqual(
      expected.map(([key]) => key),
    );
    await engine.remove('tagged');
    expect(await engine.list()).toEqual([]);
  });

  it('an access point tagged with a name Stowage refuses (__proto__, ../etc, a/b) is no volume', async () => {
    const id = await t.world.fileSystem();
    for (const name of ['__proto__', '../etc', 'a/b', '']) {
      await t.world.efs.send(
        new CreateAccessPointCommand({
          ClientToken: `t-${name}`,
          FileSystemId: id,
          Tags: [{ Key: 'stowage:volume', Value: name }],
          RootDirectory: { Path: '/' },
        }),
      );
    }
    const { engine } = await t.nodes.start('a', { fileSystemId: id, accessPoints: true });
    await engine.create('real', { backing: 'shared' });
    expect((await engine.list()).map((v) => v.name)).toEqual(['real']);
  });

  it('option names __proto__, constructor, toString... in a record on the file system are plain options', async () => {
    const id = await t.world.fileSystem();
    const root = await fileSystemRoot(t.dir.exports, id);
    await mkdir(join(root, '.stowage'), { recursive: true });
    await mkdir(join(root, 'handmade'));
    const options = Object.fromEntries(PROTOTYPE_KEYS.map((key) => [key, `value of ${key}`]));
    await writeFile(
      join(root, '.stowage', 'handmade.json'),
      JSON.stringify({ name: 'handmade', createdAt: new Date().toISOString(), options }),
    );
    const { engine } = await t.nodes.start('a', { fileSystemId: id });
    const expected = Object.entries(options).sort();
    expect(Object.entries((await engine.get('handmade'))?.options ?? {}).sort()).toEqual(expected);
    expect(Object.entries((await engine.list())[0]?.options ?? {}).sort()).toEqual(expected);
    await engine.remove('handmade');
    expect(await engine.list()).toEqual([]);
  });

  it.each([false, true])(
    'volumes named constructor, toString, hasOwnProperty, valueOf live and go like any other (access points: %s)',
    async (accessPoints) => {
      const id = await t.world.fileSystem();
      const { engine } = await t.nodes.start('a', { fileSystemId: id, accessPoints });
      const names = PROTOTYPE_KEYS.filter((key) => !key.startsWith('_'));
      for (const name of names) await engine.create(name, { backing: 'shared' });
      expect((await engine.list()).map((v) => v.name).sort()).toEqual([...names].sort());
      for (const name of names) {
        const path = await engine.mount(name, name);
        await writeFile(join(path, 'f'), name);
        await engine.unmount(name, name);
        await engine.remove(name);
        expect(await engine.get(name)).toBeUndefined();
      }
      expect(await engine.list()).toEqual([]);
    },
  );
});
