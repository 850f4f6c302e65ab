import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerEngine, freePort, importBusyboxImage, waitUntil } from '@stowage/testkit/docker';
import { buildManagedPlugin, PLUGIN_VERSION } from './managed-plugin-build.js';
import { managedPluginPid } from './managed-plugin-process.js';

const PLUGIN = `stowage:${PLUGIN_VERSION}`;

interface InspectedPlugin {
  readonly Id: string;
  readonly Enabled: boolean;
  readonly Settings: { readonly Env: readonly string[] };
}

interface InspectedVolume {
  readonly Name: string;
  readonly Driver: string;
  readonly Mountpoint: string;
  readonly Status?: Record<string, unknown>;
}

// Stowage installed the way Docker users install plugins: `docker plugin create` from the directory that
// `pnpm package:plugin` assembles, then set, enable, and volumes through `-d stowage:<version>`. The plugin runs in
// the engine's own plugin container; its socket is under the engine's exec root, not /run/docker/plugins, so this
// file does not compete with the other e2e files for the legacy socket.
describe('Stowage as a Docker managed plugin', () => {
  let engine: DockerEngine;
  let image: string;
  let buildDir: string;

  const inspectPlugin = async (): Promise<InspectedPlugin> =>
    (JSON.parse(await engine.dockerOk(['plugin', 'inspect', PLUGIN])) as InspectedPlugin[])[0]!;
  const inspectVolume = async (name: string): Promise<InspectedVolume> =>
    (JSON.parse(await engine.dockerOk(['volume', 'inspect', name])) as InspectedVolume[])[0]!;
  /** Where the engine keeps what the plugin mounts under its propagatedMount (/var/lib/stowage in the plugin). */
  const propagatedMountOnHost = async (): Promise<string> =>
    join(engine.dir, 'data', 'plugins', (await inspectPlugin()).Id, 'propagated-mount');

  const pluginPid = async (): Promise<number> => managedPluginPid((await inspectPlugin()).Id);

  beforeAll(async () => {
    // Built afresh from the built packages into a directory of this run: never an old build, never one that a
    // concurrent `pnpm package:plugin` is replacing.
    buildDir = await mkdtemp('/tmp/stowage-e2e-managed-plugin-');
    const printed = await buildManagedPlugin(join(buildDir, 'plugin'));
    process.stderr.write(printed);
    engine = await DockerEngine.start({ label: 'managed-plugin' });
    image = await importBusyboxImage(engine);
  });

  afterAll(async () => {
    const problems: string[] = [];
    if (engine?.running) {
      // Whatever a failed test left: volumes first (disable refuses while they exist), then the plugin.
      const left = await engine.docker(['volume', 'ls', '-q', '--filter', `driver=${PLUGIN}`]);
      for (const name of left.stdout.split('\n').filter(Boolean)) await engine.docker(['volume', 'rm', '-f', name]);
      await engine.docker(['plugin', 'disable', '-f', PLUGIN]);
      await engine.docker(['plugin', 'rm', '-f', PLUGIN]);
    }
    await engine?.stop().catch((error: Error) => problems.push(error.message));
    if (buildDir) await rm(buildDir, { recursive: true, force: true });
    if (problems.length > 0) throw new Error(problems.join('; '));
  });

  it('is created from the package directory, set while disabled, and enabled', async () => {
    const create = await engine.docker(['plugin', 'create', PLUGIN, join(buildDir, 'plugin')], { timeoutMs: 180_000 });
    expect(create.code, create.stderr).toBe(0);
    expect(create.stdout.trim()).toBe(PLUGIN);
    expect((await inspectPlugin()).Enabled).toBe(false);

    const set = await engine.docker(['plugin', 'set', PLUGIN, 'STOWAGE_LOG_LEVEL=debug']);
    expect(set.code, set.stderr).toBe(0);
    expect((await inspectPlugin()).Settings.Env).toContain('STOWAGE_LOG_LEVEL=debug');
    // The socket is what Docker connects to: not a setting a user may change.
    const fixed = await engine.docker(['plugin', 'set', PLUGIN, 'STOWAGE_SOCKET=/tmp/elsewhere.sock']);
    expect(fixed.code).not.toBe(0);

    const enable = await engine.docker(['plugin', 'enable', PLUGIN]);
    expect(enable.code, enable.stderr).toBe(0);
    expect((await inspectPlugin()).Enabled).toBe(true);
    // It sees the host's block devices (EBS and loop devices appear after it started) and makes its mounts in the
    // propagated mount, which the engine shares with the host (a `shared:` peer group in mountinfo).
    const pid = await pluginPid();
    // Loop devices come and go with other tests on this machine: the disks are what must be there.
    const hostBlockDevices = readdirSync('/sys/block').filter((name) => !/^(loop|ram|zram|nbd)\d/.test(name));
    expect(hostBlockDevices.length).toBeGreaterThan(0);
    for (const device of hostBlockDevices) expect(existsSync(`/proc/${pid}/root/dev/${device}`), device).toBe(true);
    const mountinfo = readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n');
    const propagated = mountinfo.find((line) => line.split(' ')[4] === '/var/lib/stowage');
    expect(propagated, mountinfo.join('\n')).toMatch(/ shared:\d+/);

    // Settings change only while the plugin is disabled.
    const refused = await engine.docker(['plugin', 'set', PLUGIN, 'STOWAGE_LOG_LEVEL=info']);
    expect(refused.code).not.toBe(0);
  });

  it('creates a volume that two containers share through -d stowage:<version>', async () => {
    const create = await engine.docker(['volume', 'create', '-d', PLUGIN, 'mv1']);
    expect(create.code, create.stderr).toBe(0);
    expect(create.stdout.trim()).toBe('mv1');

    const listed = await engine.dockerOk(['volume', 'ls', '--format', '{{.Driver}} {{.Name}}']);
    expect(listed.split('\n')).toContain(`${PLUGIN} mv1`);

    const write = await engine.docker(['run', '--rm', '-v', 'mv1:/data', image, 'sh', '-c', 'echo hi > /data/f']);
    expect(write.code, write.stderr).toBe(0);
    const read = await engine.docker(['run', '--rm', '-v', 'mv1:/data', image, 'cat', '/data/f']);
    expect(read.code, read.stderr).toBe(0);
    expect(read.stdout).toBe('hi\n');

    // The data is in the plugin's propagated mount on the host: the local root, /var/lib/stowage/volumes in the
    // plugin, is <data-root>/plugins/<id>/propagated-mount/volumes here.
    const onHost = join(await propagatedMountOnHost(), 'volumes', 'mv1', '_data', 'f');
    expect(readFileSync(onHost, 'utf8')).toBe('hi\n');
  });

  it('shows the driver and the mountpoint in docker volume inspect', async () => {
    const volume = await inspectVolume('mv1');
    expect(volume.Name).toBe('mv1');
    expect(volume.Driver).toBe(PLUGIN);
    // Get's Mountpoint is not mapped by the engine (DESIGN.md): inspect shows the path inside the plugin.
    expect(volume.Mountpoint).toBe('/var/lib/stowage/volumes/mv1/_data');
    expect(volume.Status).toMatchObject({ backing: 'local', mounts: 0 });
  });

  it('keeps its volumes and their data when the plugin is disabled and enabled again', async () => {
    // Plain disable refuses while volumes exist; -f is how an operator restarts the plugin anyway.
    const refused = await engine.docker(['plugin', 'disable', PLUGIN]);
    expect(refused.code).not.toBe(0);
    await engine.dockerOk(['plugin', 'disable', '-f', PLUGIN]);
    await engine.dockerOk(['plugin', 'enable', PLUGIN]);

    const listed = await engine.dockerOk(['volume', 'ls', '--format', '{{.Driver}} {{.Name}}']);
    expect(listed.split('\n')).toContain(`${PLUGIN} mv1`);
    const read = await engine.docker(['run', '--rm', '-v', 'mv1:/data', image, 'cat', '/data/f']);
    expect(read.code, read.stderr).toBe(0);
    expect(read.stdout).toBe('hi\n');
  });

  it('serves the HTTP ops endpoint on the host once set, with the token from a host file', async () => {
    const tokenFile = join(buildDir, 'http-token');
    const token = randomBytes(32).toString('hex');
    await writeFile(tokenFile, `${token}\n`, { mode: 0o600 });
    const listen = `127.0.0.1:${await freePort()}`;
    await engine.dockerOk(['plugin', 'disable', '-f', PLUGIN]);
    // As README says: the address, the host file bound over the http-token mount, and the variable naming the mount.
    const set = await engine.docker([
      'plugin',
      'set',
      PLUGIN,
      `STOWAGE_HTTP_LISTEN=${listen}`,
      `http-token.source=${tokenFile}`,
      'STOWAGE_HTTP_TOKEN_FILE=/etc/stowage/http-token',
    ]);
    expect(set.code, set.stderr).toBe(0);
    await engine.dockerOk(['plugin', 'enable', PLUGIN]);

    // The plugin shares the host's network (network.type host): its loopback address is the host's.
    const health = await waitUntil(
      `the managed plugin's ops server on ${listen}`,
      async () => {
        const answer = await fetch(`http://${listen}/healthz`);
        return answer.ok ? answer.status : undefined;
      },
      { timeoutMs: 30_000 },
    );
    expect(health).toBe(200);
    expect((await fetch(`http://${listen}/metrics`)).status).toBe(401);

    const run = await engine.docker(['run', '--rm', '-v', 'mv1:/data', image, 'cat', '/data/f']);
    expect(run.code, run.stderr).toBe(0);
    const metrics = await fetch(`http://${listen}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(
      /^stowage_plugin_requests_total\{endpoint="VolumeDriver.Mount",outcome="ok"\} 1$/m,
    );
  });

  it('removes the volume and its data, then is disabled and removed', async () => {
    const volumeDir = join(await propagatedMountOnHost(), 'volumes', 'mv1');
    const rmVolume = await engine.docker(['volume', 'rm', 'mv1']);
    expect(rmVolume.code, rmVolume.stderr).toBe(0);
    expect(existsSync(volumeDir)).toBe(false);
    const listed = await engine.dockerOk(['volume', 'ls', '-q']);
    expect(listed.split('\n')).not.toContain('mv1');

    const disable = await engine.docker(['plugin', 'disable', PLUGIN]);
    expect(disable.code, disable.stderr).toBe(0);
    const rmPlugin = await engine.docker(['plugin', 'rm', PLUGIN]);
    expect(rmPlugin.code, rmPlugin.stderr).toBe(0);
    const plugins = await engine.dockerOk(['plugin', 'ls', '--format', '{{.Name}}']);
    expect(plugins.trim()).toBe('');
  });
});
