import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VolumeEngine, createLogger } from '@stowage/core';
import { LocalProvider } from '@stowage/driver-local';
import { provider } from './support/moto-efs.js';
import { RecordingHost } from './support/recording-host.js';
import { useEfsTestWorld } from './support/efs-test-world.js';

/**
 * A node with the shared backing and the local one enabled, every mount and unmount it makes counted. The engine may
 * ask the global EFS backing about any name (another node may have made it), so EFS must answer without mounting:
 * it keeps its file system mounted while enabled, and the catalogue spares it lookups of names local holds.
 */
describe('the local backing beside EFS', () => {
  const t = useEfsTestWorld();

  async function node(label: string, fileSystemId: string) {
    const host = new RecordingHost();
    const logger = createLogger({ level: 'silent' });
    const efs = provider(
      { nfsStandInDir: t.dir.exports, fileSystemId, mountRoot: join(t.dir.dir, label, 'efs') },
      host,
    );
    const local = new LocalProvider({ root: join(t.dir.dir, label, 'volumes') }, logger);
    const engine = new VolumeEngine([local, efs], host, logger, { stateDir: join(t.dir.dir, label, 'state') });
    return { host, engine };
  }

  it('serves a local volume from Create to Remove with no mount at all, beside the one standing EFS mount', async () => {
    const { host, engine } = await node('a', await t.world.fileSystem());
    await engine.start();
    const standing = host.take();
    expect(standing).toEqual([
      expect.objectContaining({ op: 'bindMount', target: expect.stringContaining(join('a', 'efs', 'fs')) }),
    ]);

    // What `docker volume create --opt backing=local x` and `docker run -v x:/data` make the plugin do.
    await engine.create('x', { backing: 'local' });
    expect(await engine.get('x')).toMatchObject({ name: 'x', backing: 'local' });
    expect((await engine.list()).map((v) => v.name)).toEqual(['x']);
    const path = await engine.mount('x', 'container-1');
    expect(path).toBe(join(t.dir.dir, 'a', 'volumes', 'x', '_data'));
    await engine.unmount('x', 'container-1');
    await engine.remove('x');
    expect(await engine.get('x')).toBeUndefined();
    expect(host.take()).toEqual([]);

    await engine.stop();
    expect(host.take()).toEqual([{ op: 'unmount', target: standing[0]?.target }]);
  });

  it('serves EFS volumes from the standing mount too, and a restarted plugin adopts it without mounting again', async () => {
    const fileSystemId = await t.world.fileSystem();
    const { host, engine } = await node('a', fileSystemId);
    await engine.start();
    host.take();
    await engine.create('shared1', { backing: 'shared' });
    expect((await engine.get('shared1'))?.backing).toBe('efs');
    expect((await engine.list()).map((v) => v.name)).toEqual(['shared1']);
    await engine.remove('shared1');
    expect(host.take()).toEqual([]);

    await engine.create('held', { backing: 'shared' });
    await engine.mount('held', 'container-1');
    await engine.stop();
    // A volume holds the file system: it stays mounted for its container.
    expect(host.take()).toEqual([]);

    const again = await node('a', fileSystemId);
    await again.engine.start();
    expect((await again.engine.get('held'))?.backing).toBe('efs');
    expect(again.host.take()).toEqual([]);
    await again.engine.unmount('held', 'container-1');
    await again.engine.remove('held');
    expect(again.host.take()).toEqual([]);
    await again.engine.stop();
  });
});
