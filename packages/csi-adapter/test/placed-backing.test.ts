import { status } from '@grpc/grpc-js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StowageError } from '@stowage/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ControllerService } from '../src/controller-service.js';
import type { CreateVolumeRequest__Output } from '../src/generated/csi/v1/CreateVolumeRequest.js';
import type { NodePublishVolumeRequest__Output } from '../src/generated/csi/v1/NodePublishVolumeRequest.js';
import { IdentityService } from '../src/identity-service.js';
import { NodeService } from '../src/node-service.js';
import { OperationsInFlight } from '../src/operations-in-flight.js';
import { publishCaller } from '../src/publish-caller.js';
import { hasTopology } from '../src/topology.js';
import { expectCode } from './support/expect-code.js';
import { createRequest as createVolume, publishRequest } from './support/requests.js';
import { FakeHost } from './support/fake-host.js';
import { silentLogger } from './support/local-engine.js';
import { type PlacedEngine, startPlacedEngine } from './support/placed-engine.js';

const GiB = 2 ** 30;
const REGION = { 'topology.stowage.io/region': 'eu-west-1' };
const NODE_TOPOLOGY = { ...REGION, 'topology.stowage.io/zone': 'eu-west-1b' };
// Budgets here run out for certain: a held backend call waits for the test, never for the clock.
const OVERDUE = { budgetMs: 5 };

const createRequest = (overrides: Partial<CreateVolumeRequest__Output> = {}) =>
  createVolume({ capacity_range: { required_bytes: String(GiB), limit_bytes: '0' }, ...overrides });

describe('the CSI services on a sized, zone-bound backing (EBS without the cloud)', () => {
  let placed: PlacedEngine;
  let host: FakeHost;
  let inFlight: OperationsInFlight;
  let controller: ControllerService;
  let node: NodeService;

  beforeEach(async () => {
    host = new FakeHost();
    placed = await startPlacedEngine(host);
    inFlight = new OperationsInFlight();
    controller = new ControllerService(placed.engine, inFlight);
    node = new NodeService(placed.engine, host, inFlight, {}, silentLogger);
  });
  afterEach(async () => {
    await inFlight.settled();
    await placed.dispose();
  });

  describe('CreateVolume', () => {
    it('sets the size option from the capacity range, rounded up, and reports the capacity and region', async () => {
      const answer = await controller.createVolume(
        createRequest({ capacity_range: { required_bytes: String(GiB + 1), limit_bytes: '0' } }),
      );
      expect(answer.volume).toMatchObject({ volume_id: 'vol1', capacity_bytes: String(2 * GiB) });
      // Usable anywhere in the region: Stowage moves the volume to the zone that mounts it.
      expect(answer.volume?.accessible_topology).toEqual([{ segments: REGION }]);
      expect(placed.backend.volumes.get('vol1')?.options.size).toBe('2');
    });

    it('answers a repeat with a compatible range as the first, and ALREADY_EXISTS for an incompatible one', async () => {
      const first = await controller.createVolume(
        createRequest({ capacity_range: { required_bytes: String(3 * GiB), limit_bytes: String(3 * GiB) } }),
      );
      const again = await controller.createVolume(
        createRequest({ capacity_range: { required_bytes: String(GiB), limit_bytes: String(10 * GiB) } }),
      );
      expect(again).toEqual(first);
      await expectCode(
        controller.createVolume(
          createRequest({ capacity_range: { required_bytes: String(6 * GiB), limit_bytes: String(6 * GiB) } }),
        ),
        status.ALREADY_EXISTS,
      );
      expect(placed.backend.volumes.get('vol1')?.options.size).toBe('3');
    });

    it('answers OUT_OF_RANGE for a limit below the rounded size or a size beyond the bounds, and creates nothing', async () => {
      await expectCode(
        controller.createVolume(createRequest({ capacity_range: { required_bytes: '1', limit_bytes: '1000' } })),
        status.OUT_OF_RANGE,
      );
      await expectCode(
        controller.createVolume(
          createRequest({ capacity_range: { required_bytes: String(101 * GiB), limit_bytes: '0' } }),
        ),
        status.OUT_OF_RANGE,
      );
      expect(placed.backend.volumes.size).toBe(0);
    });

    it('honours requisite topology: any zone of its region, RESOURCE_EXHAUSTED for another region', async () => {
      const requisite = (segments: Record<string, string>) => ({ requisite: [{ segments }], preferred: [] });
      const otherZone = { ...REGION, 'topology.stowage.io/zone': 'eu-west-1c' };
      await controller.createVolume(createRequest({ accessibility_requirements: requisite(otherZone) }));
      await expectCode(
        controller.createVolume(
          createRequest({
            name: 'vol2',
            accessibility_requirements: requisite({ 'topology.stowage.io/region': 'us-east-1' }),
          }),
        ),
        status.RESOURCE_EXHAUSTED,
      );
      expect([...placed.backend.volumes.keys()]).toEqual(['vol1']);
    });

    it('lists volumes with their capacity and region', async () => {
      await controller.createVolume(createRequest());
      const listed = await controller.listVolumes({ max_entries: 0, starting_token: '' });
      expect(listed.entries).toEqual([
        {
          volume: {
            volume_id: 'vol1',
            capacity_bytes: String(GiB),
            volume_context: { backing: 'disk' },
            accessible_topology: [{ segments: REGION }],
          },
        },
      ]);
    });
  });

  it("tells the backing's node facts: instance id, attach limit, zone and region; and the topology capability", async () => {
    expect(await node.getInfo()).toEqual({
      node_id: 'i-0123456789abcdef0',
      max_volumes_per_node: 25,
      accessible_topology: { segments: NODE_TOPOLOGY },
    });
    const overridden = new NodeService(placed.engine, host, inFlight, { nodeId: 'swarm-node-7' }, silentLogger);
    expect((await overridden.getInfo()).node_id).toBe('swarm-node-7');
    const identity = new IdentityService(
      {
        name: 'stowage.disk',
        version: '1',
        mode: 'both',
        topology: hasTopology(placed.engine.nodeFacts()),
      },
      (budgetMs) => placed.engine.readiness(budgetMs),
    );
    expect((await identity.getPluginCapabilities()).capabilities).toContainEqual({
      service: { type: 'VOLUME_ACCESSIBILITY_CONSTRAINTS' },
    });
  });

  describe('NodePublish of a slow attach', () => {
    let target: string;
    const publish = (overrides: Partial<NodePublishVolumeRequest__Output> = {}) => publishRequest(target, overrides);
    const callers = () =>
      placed.engine
        .holds()
        .find((h) => h.name === 'vol1')
        ?.callers.map((c) => c.id) ?? [];

    let pods: string;

    beforeEach(async () => {
      // The fake host's mounts are in memory; the target's directory is real, as NodePublish creates and removes it.
      pods = await mkdtemp(join(tmpdir(), 'stowage-csi-pods-'));
      target = join(pods, 'mount');
      await controller.createVolume(createRequest());
    });
    afterEach(() => rm(pods, { recursive: true, force: true }));

    it('answers ABORTED past the budget, goes on, and the retry joins it and succeeds once it is done', async () => {
      const attach = placed.backend.holdNext('mount');
      await expectCode(node.publishVolume(publish(), OVERDUE), status.ABORTED);
      await attach.reached;
      await expectCode(node.publishVolume(publish(), OVERDUE), status.ABORTED);
      // Another operation on the volume meanwhile: ABORTED, and it changes nothing.
      await expectCode(node.unpublishVolume({ volume_id: 'vol1', target_path: target }, OVERDUE), status.ABORTED);
      await expectCode(controller.deleteVolume({ volume_id: 'vol1', secrets: {} }, OVERDUE), status.ABORTED);
      const retry = node.publishVolume(publish(), { budgetMs: 60_000 });
      attach.open();
      expect(await retry).toEqual({});
      expect(host.mounts).toEqual([expect.objectContaining({ source: '/fake/vol1', target })]);
      expect(callers()).toEqual([publishCaller(target)]);
      expect(placed.backend.calls.filter((c) => c === 'mount')).toHaveLength(1);
    });

    it('answers a background failure to the next retry, having released what it took; the one after mounts', async () => {
      const attach = placed.backend.holdNext('mount');
      placed.backend.failNext('mount', StowageError.backendFailure('EC2 refused the attach'));
      await expectCode(node.publishVolume(publish(), OVERDUE), status.ABORTED);
      attach.open();
      await inFlight.settled();
      expect(callers()).toEqual([]);
      expect(placed.backend.mounted.has('vol1')).toBe(false);
      expect(host.mounts).toEqual([]);
      expect(await expectCode(node.publishVolume(publish()), status.UNAVAILABLE)).toMatch(/EC2 refused the attach/);
      expect(await node.publishVolume(publish())).toEqual({});
      expect(callers()).toEqual([publishCaller(target)]);
    });

    it('answers RESOURCE_EXHAUSTED at the attach limit, holding nothing', async () => {
      placed.backend.failNext('mount', StowageError.limitReached('this instance has 25 volumes attached'));
      await expectCode(node.publishVolume(publish()), status.RESOURCE_EXHAUSTED);
      expect(callers()).toEqual([]);
      expect(host.mounts).toEqual([]);
    });
  });
});
