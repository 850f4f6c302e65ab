import { status } from '@grpc/grpc-js';
import { mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NodePublishVolumeRequest__Output } from '../src/generated/csi/v1/NodePublishVolumeRequest.js';
import { NodeService } from '../src/node-service.js';
import { OperationsInFlight } from '../src/operations-in-flight.js';
import { publishCaller } from '../src/publish-caller.js';
import { blockCapability, mountCapability } from './support/capabilities.js';
import { expectCode } from './support/expect-code.js';
import { publishRequest } from './support/requests.js';
import { FakeHost } from './support/fake-host.js';
import { type LocalEngine, silentLogger, startLocalEngine } from './support/local-engine.js';

describe('NodeService on the local backing (mount table in memory)', () => {
  let host: FakeHost;
  let local: LocalEngine;
  let node: NodeService;
  let target: string;

  const nodeService = () =>
    new NodeService(local.stowage.engine, host, new OperationsInFlight(), { nodeId: 'node-1' }, silentLogger);

  const publish = (overrides: Partial<NodePublishVolumeRequest__Output> = {}) => publishRequest(target, overrides);
  const unpublish = (volume_id = 'vol1', target_path = target) => ({ volume_id, target_path });
  const callersOf = (name: string) =>
    local.stowage.engine
      .holds()
      .find((h) => h.name === name)
      ?.callers.map((c) => c.id) ?? [];

  beforeEach(async () => {
    host = new FakeHost();
    local = await startLocalEngine(host);
    node = nodeService();
    target = join(local.dir, 'pods', 'p1', 'target');
    await mkdir(join(local.dir, 'pods', 'p1'), { recursive: true });
    await local.stowage.engine.create('vol1');
  });
  afterEach(() => local.dispose());

  it('reports the node id it was given and no limit of its own', async () => {
    expect(await node.getInfo()).toEqual({ node_id: 'node-1', max_volumes_per_node: 0 });
    expect(await node.getCapabilities()).toEqual({ capabilities: [{ rpc: { type: 'GET_VOLUME_STATS' } }] });
  });

  it("binds the volume's directory onto the target, held by a caller named after the target", async () => {
    await node.publishVolume(publish());
    const path = await local.stowage.engine.path('vol1');
    expect(host.mounts).toEqual([expect.objectContaining({ source: path, target, options: ['rw'] })]);
    expect(callersOf('vol1')).toEqual([publishCaller(target)]);
  });

  it('publishes read-only when asked, or when the access mode is a reader one', async () => {
    await node.publishVolume(publish({ readonly: true }));
    const other = join(local.dir, 'pods', 'p2', 'target');
    await node.publishVolume(
      publish({ target_path: other, volume_capability: mountCapability('SINGLE_NODE_READER_ONLY') }),
    );
    expect(host.mounts.map((m) => m.options[0])).toEqual(['ro', 'ro']);
  });

  it('passes mount flags on, and refuses one that would smuggle in more options', async () => {
    await node.publishVolume(
      publish({ volume_capability: mountCapability('SINGLE_NODE_WRITER', ['nosuid', 'nodev']) }),
    );
    expect(host.mounts[0]?.options).toEqual(['rw', 'nosuid', 'nodev']);
    await expectCode(
      node.publishVolume(
        publish({ target_path: `${target}2`, volume_capability: mountCapability('SINGLE_NODE_WRITER', ['ro,suid']) }),
      ),
      status.INVALID_ARGUMENT,
    );
  });

  it('answers a repeated publish of the same target without a second mount or hold', async () => {
    for (let i = 0; i < 5; i++) await node.publishVolume(publish());
    expect(host.mounts).toHaveLength(1);
    expect(local.stowage.engine.holds()[0]?.callers).toEqual([expect.objectContaining({ count: 1 })]);
  });

  it('answers ALREADY_EXISTS for the same target read-only after read-write, and for a target mounted by something else', async () => {
    await node.publishVolume(publish());
    await expectCode(node.publishVolume(publish({ readonly: true })), status.ALREADY_EXISTS);
    await local.stowage.engine.create('vol2');
    await expectCode(node.publishVolume(publish({ volume_id: 'vol2' })), status.ALREADY_EXISTS);
    expect(callersOf('vol2')).toEqual([]);
  });

  it.each([
    ['no volume id', { volume_id: '' }, status.INVALID_ARGUMENT],
    ['no target path', { target_path: '' }, status.INVALID_ARGUMENT],
    ['a relative target path', { target_path: 'pods/target' }, status.INVALID_ARGUMENT],
    ['no capability', { volume_capability: null }, status.INVALID_ARGUMENT],
    ['block access', { volume_capability: blockCapability() }, status.INVALID_ARGUMENT],
    ['multi-node access', { volume_capability: mountCapability('MULTI_NODE_READER_ONLY') }, status.INVALID_ARGUMENT],
    ['a missing volume', { volume_id: 'nope' }, status.NOT_FOUND],
    ['an id no volume could have', { volume_id: 'a/b' }, status.NOT_FOUND],
  ])('answers %s with its code, and mounts and holds nothing', async (_what, overrides, code) => {
    await expectCode(node.publishVolume(publish(overrides)), code);
    expect(host.mounts).toEqual([]);
    expect(local.stowage.engine.holds()).toEqual([]);
  });

  it('releases the hold when the bind mount fails, so nothing leaks', async () => {
    host.failNextMount = new Error('mount: permission denied');
    await expectCode(node.publishVolume(publish()), status.INTERNAL);
    expect(local.stowage.engine.holds()).toEqual([]);
  });

  it('unpublishes: unmounts, removes the target it created, releases the hold; again is still fine', async () => {
    await node.publishVolume(publish());
    await node.unpublishVolume(unpublish());
    expect(host.mounts).toEqual([]);
    await expect(stat(target)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(local.stowage.engine.holds()).toEqual([]);
    await node.unpublishVolume(unpublish());
  });

  it('keeps the volume held while another target still has it', async () => {
    const other = join(local.dir, 'pods', 'p2', 'target');
    await node.publishVolume(publish());
    await node.publishVolume(publish({ target_path: other }));
    await node.unpublishVolume(unpublish());
    expect(callersOf('vol1')).toEqual([publishCaller(other)]);
    expect(host.mounts.map((m) => m.target)).toEqual([other]);
  });

  it('leaves a target that holds files of its own in place', async () => {
    await mkdir(join(target, 'not-ours'), { recursive: true });
    await node.unpublishVolume(unpublish());
    expect(await readdir(target)).toEqual(['not-ours']);
  });

  it('answers NOT_FOUND for unpublishing a volume that does not exist, FAILED_PRECONDITION for a foreign mount', async () => {
    await expectCode(node.unpublishVolume(unpublish('nope')), status.NOT_FOUND);
    await host.mount('/somewhere', target, { options: ['bind'] });
    await expectCode(node.unpublishVolume(unpublish()), status.FAILED_PRECONDITION);
    expect(host.mounts).toHaveLength(1);
  });

  it('answers INVALID_ARGUMENT for an unpublish without volume id or target', async () => {
    await expectCode(node.unpublishVolume(unpublish('')), status.INVALID_ARGUMENT);
    await expectCode(node.unpublishVolume(unpublish('vol1', '')), status.INVALID_ARGUMENT);
  });

  describe('NodeGetVolumeStats', () => {
    it('reports bytes and inodes where the volume is published, consistent with each other', async () => {
      await node.publishVolume(publish());
      const { usage } = await node.getVolumeStats({ volume_id: 'vol1', volume_path: target, staging_target_path: '' });
      expect(usage?.map((u) => u.unit)).toEqual(['BYTES', 'INODES']);
      for (const u of usage ?? []) {
        const [total, available, used] = [u.total, u.available, u.used].map((n) => BigInt(String(n)));
        expect(total).toBeGreaterThan(0n);
        expect((available as bigint) + (used as bigint)).toBeLessThanOrEqual(total as bigint);
      }
    });

    it.each([
      ['no volume id', { volume_id: '', volume_path: '/x' }, status.INVALID_ARGUMENT],
      ['no volume path', { volume_id: 'vol1', volume_path: '' }, status.INVALID_ARGUMENT],
      ['a missing volume', { volume_id: 'nope', volume_path: 'some/path' }, status.NOT_FOUND],
      ['a path the volume is not published at', { volume_id: 'vol1', volume_path: 'some/path' }, status.NOT_FOUND],
    ])('answers %s with its code', async (_what, request, code) => {
      await node.publishVolume(publish());
      await expectCode(node.getVolumeStats({ ...request, staging_target_path: '' }), code);
    });

    it('answers NOT_FOUND for a target that was unpublished', async () => {
      await node.publishVolume(publish());
      await node.unpublishVolume(unpublish());
      const request = { volume_id: 'vol1', volume_path: target, staging_target_path: '' };
      await expectCode(node.getVolumeStats(request), status.NOT_FOUND);
    });
  });

  describe('after a restart (state from the journal and the mount table, none from memory)', () => {
    it('recognises its own publication: a repeated publish is answered, the unpublish releases the hold', async () => {
      await node.publishVolume(publish());
      await local.restart();
      node = nodeService();
      await node.publishVolume(publish());
      expect(host.mounts).toHaveLength(1);
      await node.unpublishVolume(unpublish());
      expect(local.stowage.engine.holds()).toEqual([]);
      expect(host.mounts).toEqual([]);
    });

    it('finishes a publish a crash cut between the hold and the bind, without a second hold', async () => {
      await local.stowage.engine.mount('vol1', publishCaller(target));
      await local.restart();
      node = nodeService();
      await node.publishVolume(publish());
      expect(host.mounts).toHaveLength(1);
      expect(local.stowage.engine.holds()[0]?.callers).toEqual([expect.objectContaining({ count: 1 })]);
    });

    it('finishes an unpublish a crash cut between the unmount and the release', async () => {
      await node.publishVolume(publish());
      await host.unmount(target);
      await local.restart();
      node = nodeService();
      await node.unpublishVolume(unpublish());
      expect(local.stowage.engine.holds()).toEqual([]);
    });
  });
});
