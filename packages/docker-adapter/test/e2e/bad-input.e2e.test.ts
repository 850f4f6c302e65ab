import { existsSync, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listVolumes } from './docker-volumes.js';
import { DRIVER, startE2eEnvironment, type E2eEnvironment } from './e2e-environment.js';
import { snapshotTree } from './file-tree-snapshot.js';
import { BLANKS_KEPT, BLANK_PREFIX } from '@stowage/driver-local';

describe('bad input through the docker CLI', () => {
  let env: E2eEnvironment;
  beforeAll(async () => {
    env = await startE2eEnvironment('bad-input');
  });
  afterAll(async () => {
    await env?.stop();
  });

  /** The `Err` the plugin itself answers to this Create, to compare with what docker shows the user. */
  async function pluginCreateError(name: string, opts: Record<string, string>): Promise<string> {
    const answer = await env.plugin.request('VolumeDriver.Create', { Name: name, Opts: opts });
    const err = (answer.json as { Err?: unknown } | undefined)?.Err;
    expect(
      typeof err === 'string' && err.length > 0,
      `Create ${name} ${JSON.stringify(opts)} answered ${answer.status} ${answer.text}`,
    ).toBe(true);
    return err as string;
  }

  it('refuses --opt backing=nope with the message the plugin gave', async () => {
    const create = await env.docker(['volume', 'create', '-d', DRIVER, '--opt', 'backing=nope', 'x']);
    expect(create.code).not.toBe(0);
    expect(create.stderr).toContain('nope');
    // Asked second: had the plugin accepted it, docker's own Create above would have been skipped (Get first).
    expect(create.stderr).toContain(await pluginCreateError('x', { backing: 'nope' }));
    expect(await listVolumes(env)).not.toContain(`${DRIVER} x`);
  });

  it('refuses --opt size=abc with the message the plugin gave', async () => {
    const create = await env.docker(['volume', 'create', '-d', DRIVER, '--opt', 'size=abc', 'x']);
    expect(create.code).not.toBe(0);
    expect(create.stderr).toContain('size');
    expect(create.stderr).toContain(await pluginCreateError('x', { size: 'abc' }));
    expect(await listVolumes(env)).not.toContain(`${DRIVER} x`);
  });

  it('never touches anything outside the volume root for names like ../../etc', async () => {
    const { baseDir, stateDir } = env.plugin;
    // The local root is <base>/volumes/local, so `..`, `../x` and `../../etc` joined to it (or to a volume
    // directory inside it) all land inside <base>, which is snapshotted whole; the state directory changes
    // legitimately and is left out. /etc is watched for names resolved from the file system root.
    // The blanks the local backing keeps for its next creates are made in the background after a start or a create:
    // all of them there first, so the snapshot holds still unless a request below changes something.
    const blanks = async () =>
      (await readdir(env.plugin.localRoot)).filter((entry) => entry.startsWith(BLANK_PREFIX)).length;
    await expect.poll(blanks, { timeout: 30_000 }).toBe(BLANKS_KEPT);
    const before = await snapshotTree(baseDir, [stateDir]);
    const etcBefore = { mtime: statSync('/etc').mtimeMs, entries: (await readdir('/etc')).sort() };
    const tmpEtcExisted = existsSync('/tmp/etc');

    const names = ['../../etc', '..', '.', '../escape', '/etc', 'a/../../etc', '../../../../../../etc'];
    for (const name of names) {
      const create = await env.docker(['volume', 'create', '-d', DRIVER, '--opt', 'backing=local', name]);
      expect(create.code, `docker volume create ${name} succeeded`).not.toBe(0);
      const run = await env.docker([
        'run',
        '--rm',
        '--mount',
        `type=volume,volume-driver=${DRIVER},source=${name},destination=/data`,
        env.image,
        'sh',
        '-c',
        'echo escaped > /data/escaped',
      ]);
      expect(run.code, `docker run with a volume named ${name} succeeded`).not.toBe(0);
      const rm = await env.docker(['volume', 'rm', name]);
      expect(rm.code, `docker volume rm ${name} succeeded`).not.toBe(0);
    }

    expect(await snapshotTree(baseDir, [stateDir])).toEqual(before);
    expect({ mtime: statSync('/etc').mtimeMs, entries: (await readdir('/etc')).sort() }).toEqual(etcBefore);
    expect(existsSync('/tmp/etc')).toBe(tmpEtcExisted);
    const listed = await listVolumes(env);
    expect(listed.filter((line) => line.startsWith(`${DRIVER} `))).toEqual([]);
  });
});
