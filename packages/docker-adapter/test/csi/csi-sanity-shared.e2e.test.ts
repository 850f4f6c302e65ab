import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mountsUnder, unmountAllUnder } from '@stowage/testkit/docker';
import { MotoCloud, startEfsStandIn, type EfsStandIn } from '@stowage/testkit/moto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, startCsi, type ServeProcess } from '../support/stowage-cli.js';
import { CsiClient } from './csi-client.js';
import {
  csiSanityBinary,
  expectSanityPassed,
  GET_CAPACITY_SPEC,
  runCsiSanity,
  sanityCounts,
  sanityPlaces,
} from './csi-sanity.js';

/** The plugin's JSON log lines. */
const logEntries = (stdout: string): Record<string, unknown>[] =>
  stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

const multiWriter = { mount: {}, access_mode: { mode: 'MULTI_NODE_MULTI_WRITER' } };

/**
 * `stowage csi` serving the shared backing (EFS on moto; the file system's NFS export a local directory bind-mounted
 * in its place, as the other EFS tiers do) beside the local one, which stays the default: the CreateVolume parameter
 * `backing=shared` is what picks EFS, as a storage class or a Swarm volume's driver options would.
 */
describe('`stowage csi` on the shared backing (EFS on moto, bind mounts for NFS)', () => {
  let dir: string;
  let cloud: MotoCloud;
  let efs: EfsStandIn;
  interface Node {
    readonly name: string;
    readonly endpoint: string;
    process?: ServeProcess;
  }
  const nodes: Node[] = [];
  let sanity: string;

  beforeAll(async () => {
    sanity = await csiSanityBinary();
    dir = await mkdtemp(join(tmpdir(), 'stowage-csi-shared-'));
    cloud = await MotoCloud.start();
    efs = await startEfsStandIn(cloud, { prefix: 'stowage-csi-shared' });
    // Two nodes of one cluster: each its own plugin process, state and node id, the file system the same.
    for (const name of ['node-a', 'node-b']) {
      const node: Node = { name, endpoint: `unix://${join(dir, name, 'csi.sock')}` };
      nodes.push(node);
      const env = cliEnv({
        ...efs.env,
        STOWAGE_DRIVERS: 'local,efs',
        STOWAGE_DEFAULT_BACKING: 'local',
        STOWAGE_STATE_DIR: join(dir, name, 'state'),
        STOWAGE_LOCAL_ROOT: join(dir, name, 'volumes'),
      });
      node.process = await startCsi(env, ['--endpoint', node.endpoint, '--node-id', name]);
    }
  });

  afterAll(async () => {
    const failures: unknown[] = [];
    for (const node of nodes) await node.process?.stop().catch((error: unknown) => failures.push(error));
    await Promise.resolve(cloud?.stop()).catch((error: unknown) => failures.push(error));
    await Promise.resolve(efs?.dispose()).catch((error: unknown) => failures.push(error));
    if (dir) {
      await unmountAllUnder(dir);
      await rm(dir, { recursive: true, force: true });
    }
    if (failures.length > 0) throw new AggregateError(failures, 'the shared CSI environment did not stop cleanly');
  });

  it('passes csi-sanity with backing=shared, idempotency checks included; skips only what it does not advertise', async () => {
    const [node] = nodes;
    const result = await runCsiSanity(sanity, {
      ...(await sanityPlaces(dir)),
      endpoint: node?.endpoint as string,
      volumeParameters: { backing: 'shared' },
    });
    console.log(`csi-sanity v5.6.0 against stowage csi (shared, EFS on moto): ${sanityCounts(result)}`);

    // GetCapacity with no parameters asks about the default backing, local here: offered and answered.
    expectSanityPassed(result, { mustPass: [GET_CAPACITY_SPEC] });
    expect(await mountsUnder(join(dir, 'sanity'))).toEqual([]);
    // Every volume it made went to the file system, none to the default (local) backing: the parameter picked it.
    const created = logEntries(node?.process?.stdout() ?? '').filter((entry) => entry.msg === 'volume created');
    expect(created.length).toBeGreaterThan(10);
    expect(new Set(created.map((entry) => entry.backing))).toEqual(new Set(['efs']));
    expect((await readdir(efs.fileSystemRoot)).filter((entry) => entry !== '.stowage')).toEqual([]);
  });

  it('publishes one volume MULTI_NODE_MULTI_WRITER on two nodes at once, each seeing the other write', async () => {
    const [a, b] = nodes.map((node) => ({ ...node, client: new CsiClient(node.endpoint) }));
    if (!a || !b) throw new Error('two nodes expected');
    try {
      const created = await a.client.call<{ volume: { volume_id: string; volume_context: Record<string, string> } }>(
        'controller',
        'CreateVolume',
        { name: 'e2e-shared', volume_capabilities: [multiWriter], parameters: { backing: 'shared' } },
      );
      expect(created.error).toBeUndefined();
      expect(created.answer?.volume.volume_context).toMatchObject({ backing: 'efs' });
      expect(existsSync(join(efs.fileSystemRoot, 'e2e-shared'))).toBe(true);

      // The other node's controller sees it too: the file system is the catalogue.
      const validated = await b.client.call('controller', 'ValidateVolumeCapabilities', {
        volume_id: 'e2e-shared',
        volume_capabilities: [multiWriter],
      });
      expect(validated.answer).toMatchObject({ confirmed: { volume_capabilities: [expect.anything()] } });

      const targets = { a: join(dir, 'pods', 'a', 'mount'), b: join(dir, 'pods', 'b', 'mount') };
      await mkdir(join(dir, 'pods', 'a'), { recursive: true });
      await mkdir(join(dir, 'pods', 'b'), { recursive: true });
      const publish = (node: typeof a, target: string) =>
        node.client.call('node', 'NodePublishVolume', {
          volume_id: 'e2e-shared',
          volume_capability: multiWriter,
          volume_context: created.answer?.volume.volume_context,
          target_path: target,
        });
      expect((await publish(a, targets.a)).error).toBeUndefined();
      expect((await publish(b, targets.b)).error).toBeUndefined();
      expect((await mountsUnder(join(dir, 'pods'))).sort()).toEqual([targets.a, targets.b].sort());

      await writeFile(join(targets.a, 'from-a'), 'written on node a\n');
      await writeFile(join(targets.b, 'from-b'), 'written on node b\n');
      expect(await readFile(join(targets.b, 'from-a'), 'utf8')).toBe('written on node a\n');
      expect(await readFile(join(targets.a, 'from-b'), 'utf8')).toBe('written on node b\n');
      // Both went to the file system, not to a copy on either node.
      expect(await readFile(join(efs.fileSystemRoot, 'e2e-shared', 'from-b'), 'utf8')).toBe('written on node b\n');

      for (const [node, target] of [
        [a, targets.a],
        [b, targets.b],
      ] as const) {
        const unpublished = await node.client.call('node', 'NodeUnpublishVolume', {
          volume_id: 'e2e-shared',
          target_path: target,
        });
        expect(unpublished.error).toBeUndefined();
      }
      expect(await mountsUnder(join(dir, 'pods'))).toEqual([]);
      expect((await b.client.call('controller', 'DeleteVolume', { volume_id: 'e2e-shared' })).error).toBeUndefined();
      expect(existsSync(join(efs.fileSystemRoot, 'e2e-shared'))).toBe(false);
    } finally {
      a.client.close();
      b.client.close();
    }
  });
});
