import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { postJson, rawPost, type RawAnswer } from './support/raw-post.js';
import { startRunningPlugin, type RunningPlugin } from './support/running-plugin.js';
import { BLANK_PREFIX } from '@stowage/driver-local';

// What Go's time.Time accepts when Docker decodes CreatedAt.
const RFC_3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

let plugin: RunningPlugin;
beforeEach(async () => {
  plugin = await startRunningPlugin();
});
afterEach(async () => {
  await plugin.close();
});

const call = (endpoint: string, body: unknown) => postJson(plugin.socket, endpoint, body);

/** A 200 answer whose JSON body has an empty `Err` (where the endpoint has one) and the given fields. */
function expectOk(answer: RawAnswer): Record<string, unknown> {
  expect(answer.status).toBe(200);
  const body = answer.json();
  if ('Err' in body) expect(body.Err).toBe('');
  return body;
}

/** A 200 answer carrying a non-empty `Err`: what Docker shows the user as is. */
function expectErr(answer: RawAnswer): string {
  expect(answer.status).toBe(200);
  const { Err } = answer.json<{ Err: string }>();
  expect(Err).toEqual(expect.any(String));
  expect(Err).not.toBe('');
  return Err;
}

async function create(name: string, opts: Record<string, string> | null = null): Promise<void> {
  expectOk(await call('/VolumeDriver.Create', { Name: name, Opts: opts }));
}

describe('/Plugin.Activate', () => {
  it('declares the VolumeDriver interface for the null body the engine sends', async () => {
    const answer = await call('/Plugin.Activate', null);
    expect(answer.status).toBe(200);
    expect(answer.json()).toEqual({ Implements: ['VolumeDriver'] });
  });

  it('refuses a GET with 405 and a JSON Err', async () => {
    const answer = await rawPost(plugin.socket, '/Plugin.Activate', undefined, { method: 'GET' });
    expect(answer.status).toBe(405);
    expect(answer.headers.allow).toBe('POST');
    expect(answer.json().Err).toMatch(/GET is not allowed on \/Plugin\.Activate/);
  });
});

describe('/VolumeDriver.Create', () => {
  it('creates a volume when Opts is null, and with options', async () => {
    expect((await call('/VolumeDriver.Create', { Name: 'v1', Opts: null })).json()).toEqual({ Err: '' });
    await create('v2', { backing: 'local', mode: '0700' });
    expect((await stat(join(plugin.root, 'v1', '_data'))).isDirectory()).toBe(true);
    expect((await stat(join(plugin.root, 'v2', '_data'))).mode & 0o777).toBe(0o700);
  });

  it('answers Err for a name that would climb out of the root, and creates nothing', async () => {
    const outside = resolve(plugin.root, '../../etc');
    const existedBefore = existsSync(outside);
    const err = expectErr(await call('/VolumeDriver.Create', { Name: '../../etc', Opts: null }));
    expect(err).toMatch(/invalid volume name "\.\.\/\.\.\/etc"/);
    const entries = existsSync(plugin.root) ? await readdir(plugin.root) : [];
    // Less the blanks the local backing keeps for its next creates.
    expect(entries.filter((entry) => !entry.startsWith(BLANK_PREFIX))).toEqual([]);
    expect(existsSync(outside)).toBe(existedBefore);
  });

  it('answers Err naming the known backings for an unknown backing', async () => {
    const err = expectErr(await call('/VolumeDriver.Create', { Name: 'x', Opts: { backing: 'nope' } }));
    expect(err).toBe('backing: unknown backing "nope"; must be one of local');
    expect(existsSync(join(plugin.root, 'x'))).toBe(false);
  });

  it('answers Err for an unknown option and for a conflicting second create', async () => {
    expect(expectErr(await call('/VolumeDriver.Create', { Name: 'x', Opts: { colour: 'red' } }))).toMatch(/colour/);
    await create('x', { mode: '0700' });
    expect(expectErr(await call('/VolumeDriver.Create', { Name: 'x', Opts: { mode: '0755' } }))).toMatch(
      /already exists with other options/,
    );
  });
});

describe('/VolumeDriver.Remove', () => {
  it('removes a volume and its directory', async () => {
    await create('v1');
    expectOk(await call('/VolumeDriver.Remove', { Name: 'v1' }));
    expect(existsSync(join(plugin.root, 'v1'))).toBe(false);
  });

  it('answers Err for a missing volume', async () => {
    expect(expectErr(await call('/VolumeDriver.Remove', { Name: 'ghost' }))).toBe('volume "ghost" not found');
  });

  it('answers Err while the volume is mounted, and keeps it', async () => {
    await create('v1');
    expectOk(await call('/VolumeDriver.Mount', { Name: 'v1', ID: 'c1' }));
    expect(expectErr(await call('/VolumeDriver.Remove', { Name: 'v1' }))).toMatch(/in use/);
    expect(existsSync(join(plugin.root, 'v1', '_data'))).toBe(true);
  });
});

describe('/VolumeDriver.Mount', () => {
  it('answers the mountpoint, an existing directory, and counts every Mount of one ID', async () => {
    await create('v1');
    const first = expectOk(await call('/VolumeDriver.Mount', { Name: 'v1', ID: 'c1' }));
    expect(first.Mountpoint).toEqual(expect.any(String));
    expect((await stat(first.Mountpoint as string)).isDirectory()).toBe(true);
    // docker cp reuses the container's mount ID: two Mounts need two Unmounts.
    expect(expectOk(await call('/VolumeDriver.Mount', { Name: 'v1', ID: 'c1' })).Mountpoint).toBe(first.Mountpoint);
    const get = await call('/VolumeDriver.Get', { Name: 'v1' });
    expect(get.json<{ Volume: { Status: { mounts: number } } }>().Volume.Status.mounts).toBe(2);
  });

  it('answers Err for a missing volume', async () => {
    expect(expectErr(await call('/VolumeDriver.Mount', { Name: 'ghost', ID: 'c1' }))).toBe('volume "ghost" not found');
  });
});

describe('/VolumeDriver.Unmount', () => {
  it('matches a Mount by ID', async () => {
    await create('v1');
    expectOk(await call('/VolumeDriver.Mount', { Name: 'v1', ID: 'c1' }));
    expectOk(await call('/VolumeDriver.Unmount', { Name: 'v1', ID: 'c1' }));
    expectOk(await call('/VolumeDriver.Remove', { Name: 'v1' }));
  });

  it('answers Err for an ID that holds no mount', async () => {
    await create('v1');
    expectOk(await call('/VolumeDriver.Mount', { Name: 'v1', ID: 'c1' }));
    expect(expectErr(await call('/VolumeDriver.Unmount', { Name: 'v1', ID: 'stranger' }))).toBe(
      'volume "v1" has no mount with ID "stranger" on this node',
    );
  });
});

describe('/VolumeDriver.Path', () => {
  it("answers the volume's path", async () => {
    await create('v1');
    expect(expectOk(await call('/VolumeDriver.Path', { Name: 'v1' })).Mountpoint).toBe(
      join(plugin.root, 'v1', '_data'),
    );
  });

  it("answers Err for a volume it does not know, as Docker's local driver does", async () => {
    expect((await call('/VolumeDriver.Path', { Name: 'ghost' })).json()).toEqual({ Err: 'volume "ghost" not found' });
  });
});

describe('/VolumeDriver.Get', () => {
  it('answers the volume with an RFC 3339 CreatedAt, its mountpoint and status', async () => {
    await create('v1', { mode: '0700' });
    const { Volume } = expectOk(await call('/VolumeDriver.Get', { Name: 'v1' })) as {
      Volume: { Name: string; Mountpoint: string; CreatedAt: string; Status: Record<string, unknown> };
    };
    expect(Volume.Name).toBe('v1');
    expect(Volume.Mountpoint).toBe(join(plugin.root, 'v1', '_data'));
    expect(Volume.CreatedAt).toMatch(RFC_3339);
    expect(Math.abs(Date.parse(Volume.CreatedAt) - Date.now())).toBeLessThan(60_000);
    expect(Volume.Status).toMatchObject({ backing: 'local', scope: 'local', mounts: 0, options: { mode: '0700' } });
  });

  it('answers Err, and no Volume, for a volume that does not exist', async () => {
    const answer = await call('/VolumeDriver.Get', { Name: 'ghost' });
    expect(answer.json()).toEqual({ Err: 'volume "ghost" not found' });
  });

  it('answers Err for an invalid name', async () => {
    expect(expectErr(await call('/VolumeDriver.Get', { Name: '../x' }))).toMatch(/invalid volume name/);
  });
});

describe('/VolumeDriver.List', () => {
  it('answers every volume with its name, mountpoint and creation time', async () => {
    await create('a');
    await create('b');
    const { Volumes } = expectOk(await call('/VolumeDriver.List', null)) as {
      Volumes: Array<{ Name: string; Mountpoint: string; CreatedAt: string }>;
    };
    expect(Volumes.map((v) => v.Name).sort()).toEqual(['a', 'b']);
    for (const volume of Volumes) {
      expect(volume.Mountpoint).toBe(join(plugin.root, volume.Name, '_data'));
      expect(volume.CreatedAt).toMatch(RFC_3339);
    }
  });

  it('answers an empty array, not null, when there is no volume', async () => {
    expect((await call('/VolumeDriver.List', null)).json()).toEqual({ Volumes: [], Err: '' });
  });
});

describe('/VolumeDriver.Capabilities', () => {
  it('answers scope local for the local backing', async () => {
    expect((await call('/VolumeDriver.Capabilities', null)).json()).toEqual({ Capabilities: { Scope: 'local' } });
  });

  it('answers 404 with a JSON Err under a misspelt name', async () => {
    const answer = await call('/VolumeDriver.Capability', null);
    expect(answer.status).toBe(404);
    expect(answer.json()).toEqual({
      Err: 'unknown endpoint /VolumeDriver.Capability; this plugin implements VolumeDriver',
    });
  });
});
