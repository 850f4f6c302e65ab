import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { DescribeAccessPointsCommand } from '@aws-sdk/client-efs';
import { ErrorKind, StowageError, SystemHostOperations, VolumeEngine, createLogger } from '@stowage/core';
import { expectStowageError } from '@stowage/core/testing';
import { freePort, type MotoCloud } from '@stowage/testkit/moto';
import { AccessPointVolumes } from '../src/access-point-volumes.js';
import { OTHER_ZONE, provider, scratch, startMotoEfs } from './support/moto-efs.js';

let world: MotoCloud;
let dir: Awaited<ReturnType<typeof scratch>>;
const engines: VolumeEngine[] = [];

beforeAll(async () => {
  world = await startMotoEfs();
});
afterAll(async () => {
  await world?.stop();
});
beforeEach(async () => {
  await world.reset();
  dir = await scratch();
});
afterEach(async () => {
  for (const engine of engines.splice(0)) await engine.stop();
  await dir.cleanup();
});

/** A started engine of one node: its own state directory and mount root, the shared stand-in exports. */
async function node(
  label: string,
  settings: Parameters<typeof provider>[0] extends infer S ? Omit<S, 'mountRoot'> : never,
) {
  const host = new SystemHostOperations();
  const efs = provider({ nfsStandInDir: dir.exports, ...settings, mountRoot: join(dir.dir, label, 'mounts') }, host);
  const engine = new VolumeEngine([efs], host, createLogger({ level: 'silent' }), {
    stateDir: join(dir.dir, label, 'state'),
  });
  await engine.start();
  engines.push(engine);
  return { engine, efs, mountRoot: join(dir.dir, label, 'mounts') };
}

async function initError(settings: Parameters<typeof node>[1]): Promise<StowageError> {
  const efs = provider({ nfsStandInDir: dir.exports, ...settings, mountRoot: join(dir.dir, 'mounts') });
  return expectStowageError(efs.init());
}

describe("this node's zone", () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it("comes from instance metadata (IMDSv2, here moto's) when availabilityZone is unset", async () => {
    vi.stubEnv('AWS_EC2_METADATA_SERVICE_ENDPOINT', world.server.endpoint);
    const id = await world.fileSystem();
    const { engine } = await node('a', { fileSystemId: id, availabilityZone: undefined });
    expect((await engine.create('zoned', { backing: 'shared' })).status).toMatchObject({ fileSystemId: id });
  });

  it('says which setting to give when instance metadata does not answer', async () => {
    vi.stubEnv('AWS_EC2_METADATA_SERVICE_ENDPOINT', `http://127.0.0.1:${await freePort()}`);
    const error = await initError({ fileSystemId: await world.fileSystem(), availabilityZone: undefined });
    expect(error.kind).toBe(ErrorKind.BackendFailure);
    expect(error.message).toMatch(
      /availability zone .*ECONNREFUSED.*set the efs driver's availabilityZone setting \(STOWAGE_EFS_AVAILABILITY_ZONE\)/,
    );
  });
});

describe('finding the file system at start-up', () => {
  it('finds it by ID', async () => {
    const id = await world.fileSystem();
    const { engine } = await node('a', { fileSystemId: id });
    const volume = await engine.create('by-id', { backing: 'shared' });
    expect(volume).toMatchObject({ backing: 'efs', scope: 'global', status: { fileSystemId: id } });
  });

  it('finds it by its Name tag, as seed 003 does', async () => {
    await world.fileSystem({ name: 'other' });
    const id = await world.fileSystem({ name: 'efs-docker' });
    const { engine } = await node('a', { fileSystemTag: 'efs-docker' });
    expect((await engine.create('by-tag', { backing: 'shared' })).status).toMatchObject({ fileSystemId: id });
  });

  it('says which zone lacks a mount target', async () => {
    const id = await world.fileSystem({ zones: [OTHER_ZONE] });
    const error = await initError({ fileSystemId: id });
    expect(error.message).toMatch(
      new RegExp(`file system ${id} has no available mount target in this node's zone us-east-1a`),
    );
    expect(error.message).toContain('us-east-1b');
  });

  it('says when no file system has the tag, or the ID does not exist', async () => {
    expect((await initError({ fileSystemTag: 'nowhere' })).message).toMatch(
      /no file system in this region has the tag Name=nowhere/,
    );
    expect((await initError({ fileSystemId: 'fs-0000000000000000' })).message).toMatch(
      /fs-0000000000000000 does not exist/,
    );
  });

  it('checks the max I/O file system as well', async () => {
    const id = await world.fileSystem();
    const maxIo = await world.fileSystem({ zones: [OTHER_ZONE], performanceMode: 'maxIO' });
    expect((await initError({ fileSystemId: id, maxIoFileSystemId: maxIo })).message).toMatch(
      /max I\/O file system .* no available mount target/,
    );
  });
});

describe('perfmode', () => {
  it('places maxio volumes on the max I/O file system and the rest on the general purpose one', async () => {
    const gp = await world.fileSystem({ name: 'gp' });
    const maxIo = await world.fileSystem({ name: 'fast', performanceMode: 'maxIO' });
    const { engine } = await node('a', { fileSystemTag: 'gp', maxIoFileSystemTag: 'fast' });
    expect((await engine.create('fast1', { backing: 'shared', perfmode: 'maxio' })).status).toMatchObject({
      fileSystemId: maxIo,
    });
    expect((await engine.create('plain1', { backing: 'shared' })).status).toMatchObject({ fileSystemId: gp });
    expect((await engine.get('fast1'))?.options).toMatchObject({ perfmode: 'maxio' });
    expect((await engine.list()).map((v) => v.name).sort()).toEqual(['fast1', 'plain1']);
    const path = await engine.mount('fast1', 'c1');
    expect(path).toBe(join(dir.dir, 'a', 'mounts', 'fs', maxIo, 'fast1'));
    await engine.unmount('fast1', 'c1');
  });

  it('refuses maxio when no max I/O file system is configured, and any other mode, before any call', async () => {
    const { engine } = await node('a', { fileSystemId: await world.fileSystem() });
    const refused = async (options: Record<string, string>) => {
      const error = await engine.create('x', { backing: 'shared', ...options }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(StowageError.is(error, ErrorKind.InvalidArgument), String(error)).toBe(true);
      return (error as Error).message;
    };
    expect(await refused({ perfmode: 'maxio' })).toMatch(/perfmode: maxio needs a max I\/O file system/);
    expect(await refused({ perfmode: 'turbo' })).toMatch(/perfmode: must be one of generalpurpose, maxio/);
    expect(await refused({ mode: '999' })).toMatch(/mode: must be an octal mode such as 755 or 0750/);
    expect(await engine.list()).toEqual([]);
  });
});

describe('access point volumes', () => {
  it('creates an access point rooted at /<name> with the POSIX owner asked for, and deletes it on remove', async () => {
    const id = await world.fileSystem();
    const { engine, mountRoot } = await node('a', { fileSystemId: id, accessPoints: true });
    const volume = await engine.create('apvol', { backing: 'shared', uid: '1000', gid: '2000', mode: '750' });
    expect(volume.options).toMatchObject({ uid: '1000', gid: '2000', mode: '0750', perfmode: 'generalpurpose' });

    const points = (await world.efs.send(new DescribeAccessPointsCommand({ FileSystemId: id }))).AccessPoints ?? [];
    expect(points).toHaveLength(1);
    expect(points[0]).toMatchObject({
      FileSystemId: id,
      RootDirectory: { Path: '/apvol', CreationInfo: { OwnerUid: 1000, OwnerGid: 2000, Permissions: '0750' } },
      PosixUser: { Uid: 1000, Gid: 2000 },
    });
    expect(points[0]?.Tags).toEqual(expect.arrayContaining([{ Key: 'stowage:volume', Value: 'apvol' }]));
    expect(volume.status).toMatchObject({ accessPointId: points[0]?.AccessPointId });

    // The stand-in makes the root directory as EFS would on first use.
    const path = await engine.mount('apvol', 'c1');
    expect(path).toBe(join(mountRoot, 'access-points', 'apvol'));
    const root = await stat(path);
    expect([root.uid, root.gid, root.mode & 0o777]).toEqual([1000, 2000, 0o750]);
    await writeFile(join(path, 'f'), 'x');
    await engine.unmount('apvol', 'c1');

    await engine.remove('apvol');
    expect((await world.efs.send(new DescribeAccessPointsCommand({ FileSystemId: id }))).AccessPoints).toEqual([]);
    expect(await engine.get('apvol')).toBeUndefined();
  });
  it('finds a volume by the ref it answered, its access point id, without listing every access point', async () => {
    const id = await world.fileSystem();
    const { engine, efs } = await node('a', { fileSystemId: id, accessPoints: true });
    await engine.create('byref', { backing: 'shared' });
    await engine.create('other', { backing: 'shared' });
    const ref = (await efs.inspect('byref'))?.ref as string;
    const otherRef = (await efs.inspect('other'))?.ref as string;
    expect(ref).toMatch(/^fsap-/);
    expect(otherRef).not.toBe(ref);
    const listings = vi.spyOn(AccessPointVolumes.prototype, 'list');

    // As the remount after a restart and the release of an older record call it: name and ref, no inspect answer.
    const { path } = await efs.mount({ name: 'byref', ref });
    expect(listings).not.toHaveBeenCalled();
    expect(path).toMatch(/access-points\/byref$/);
    await efs.unmount({ name: 'byref', ref });

    // The ref of another volume, or of none, is not taken for this one: the listing by name decides.
    await efs.mount({ name: 'byref', ref: otherRef });
    expect(listings).toHaveBeenCalledTimes(1);
    await efs.unmount({ name: 'byref' });

    // Through the engine, a Mount lists once: the engine's lookup, whose answer the provider uses. A Remove lists once
    // more, not to find the volume but when its name's lock ends (is it published? that decides a crash's leftovers).
    listings.mockClear();
    await engine.mount('other', 'c1');
    expect(listings).toHaveBeenCalledTimes(1);
    await engine.unmount('other', 'c1');
    listings.mockClear();
    await engine.remove('other');
    expect(listings).toHaveBeenCalledTimes(2);
    listings.mockRestore();
  });
});

describe('two nodes', () => {
  it('list the same volumes', async () => {
    const id = await world.fileSystem({ name: 'shared-fs' });
    const a = await node('a', { fileSystemTag: 'shared-fs' });
    const b = await node('b', { fileSystemId: id });
    await a.engine.create('made-on-a', { backing: 'shared' });
    await b.engine.create('made-on-b', { backing: 'shared', mode: '0700' });
    for (const { engine } of [a, b]) {
      expect((await engine.list()).map((v) => [v.name, v.options.mode]).sort()).toEqual([
        ['made-on-a', '0755'],
        ['made-on-b', '0700'],
      ]);
    }
    await b.engine.remove('made-on-a');
    expect((await a.engine.list()).map((v) => v.name)).toEqual(['made-on-b']);
  });

  it('share one volume: what one writes the other reads, over one file system mount per node, kept while the driver is enabled', async () => {
    const id = await world.fileSystem();
    const a = await node('a', { fileSystemId: id });
    const b = await node('b', { fileSystemId: id });
    await a.engine.create('sharedvol1', { backing: 'shared' });
    await a.engine.create('other', { backing: 'shared' });

    const fsMountOf = (n: { mountRoot: string }) => join(n.mountRoot, 'fs', id);
    const mountinfoCount = async (target: string) =>
      (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').filter((line) => line.split(' ')[4] === target)
        .length;

    const pathA = await a.engine.mount('sharedvol1', 'task-1');
    const pathA2 = await a.engine.mount('other', 'task-2');
    const pathB = await b.engine.mount('sharedvol1', 'task-3');
    expect(pathA).toBe(join(fsMountOf(a), 'sharedvol1'));
    expect(pathA2).toBe(join(fsMountOf(a), 'other'));
    expect(pathB).toBe(join(fsMountOf(b), 'sharedvol1'));

    await writeFile(join(pathA, 'from-a'), 'written on node a\n');
    await writeFile(join(pathB, 'from-b'), 'written on node b\n');
    const seenOnB = await readFile(join(pathB, 'from-a'), 'utf8');
    const seenOnA = await readFile(join(pathA, 'from-b'), 'utf8');
    expect(seenOnB).toBe('written on node a\n');
    expect(seenOnA).toBe('written on node b\n');

    // Two volumes on node a, one on node b: one file system mount on each node, whatever else ran meanwhile.
    await a.engine.list();
    expect(await mountinfoCount(fsMountOf(a))).toBe(1);
    expect(await mountinfoCount(fsMountOf(b))).toBe(1);
    expect([...(a.efs.fileSystemMounts?.holdersOf(id) ?? [])].sort()).toEqual([
      'driver:enabled',
      'volume:other',
      'volume:sharedvol1',
    ]);

    await a.engine.unmount('sharedvol1', 'task-1');
    expect(await mountinfoCount(fsMountOf(a))).toBe(1);
    await a.engine.unmount('other', 'task-2');
    // The driver keeps it while enabled: the next lookup or create of any volume costs no mount.
    expect(await mountinfoCount(fsMountOf(a))).toBe(1);
    await a.engine.stop();
    expect(await mountinfoCount(fsMountOf(a))).toBe(0);
    expect(await mountinfoCount(fsMountOf(b))).toBe(1);
    await b.engine.unmount('sharedvol1', 'task-3');
    await b.engine.stop();
    expect(await mountinfoCount(fsMountOf(b))).toBe(0);

    console.log(
      `two-node shared volume: node a wrote ${JSON.stringify(seenOnB.trim())} read on node b, node b wrote ` +
        `${JSON.stringify(seenOnA.trim())} read on node a; file system mounts: 1 per node while enabled, 0 once stopped`,
    );
  });

  it('a restarted node adopts its file system mount, keeps it while enabled and drops it at stop once nobody holds it', async () => {
    const id = await world.fileSystem();
    const a = await node('a', { fileSystemId: id });
    await a.engine.create('held', { backing: 'shared' });
    const path = await a.engine.mount('held', 'task');
    await a.engine.stop();
    engines.splice(engines.indexOf(a.engine), 1);

    const again = await node('a', { fileSystemId: id });
    expect(await again.engine.path('held')).toBe(path);
    expect(again.efs.fileSystemMounts?.holdersOf(id)).toEqual(['driver:enabled', 'volume:held']);
    await again.engine.unmount('held', 'task');
    const fsMount = join(again.mountRoot, 'fs', id);
    expect(await new SystemHostOperations().isMountpoint(fsMount)).toBe(true);
    await again.engine.stop();
    expect(await new SystemHostOperations().isMountpoint(fsMount)).toBe(false);
  });
});
