import { status } from '@grpc/grpc-js';
import { hostname } from 'node:os';
import type { BackingNodeFacts } from '@stowage/core';
import { describe, expect, it } from 'vitest';
import { nodeInfo } from '../src/node-info.js';
import { checkRequisite, hasTopology, volumeSegments } from '../src/topology.js';
import { expectCode } from './support/expect-code.js';

const ebs: BackingNodeFacts = {
  backing: 'ebs',
  nodeId: 'i-1',
  maxVolumes: 25,
  topology: { region: 'us-east-1', zone: 'us-east-1a' },
  volumeTopology: ['region'],
};
const efs: BackingNodeFacts = { backing: 'efs', nodeId: 'i-1', topology: { region: 'us-east-1' } };
const small: BackingNodeFacts = { backing: 'small', maxVolumes: 4 };

describe("NodeGetInfo from the backings' node facts", () => {
  it('takes the id of the first backing that knows one, the hostname when none does, the operator’s over both', () => {
    expect(nodeInfo([small, ebs], undefined).node_id).toBe('i-1');
    expect(nodeInfo([small], undefined).node_id).toBe(hostname());
    expect(nodeInfo([ebs], 'swarm-7').node_id).toBe('swarm-7');
  });

  it('reports the smallest volume limit of any backing, 0 (none) when none has one', () => {
    expect(nodeInfo([ebs, small], undefined).max_volumes_per_node).toBe(4);
    expect(nodeInfo([efs], undefined).max_volumes_per_node).toBe(0);
  });

  it("reports every backing's segments under topology.stowage.io/, none without topology", () => {
    expect(nodeInfo([ebs, efs], undefined).accessible_topology).toEqual({
      segments: { 'topology.stowage.io/region': 'us-east-1', 'topology.stowage.io/zone': 'us-east-1a' },
    });
    expect(nodeInfo([small], undefined).accessible_topology).toBeUndefined();
    expect(hasTopology([small])).toBe(false);
    expect(hasTopology([small, efs])).toBe(true);
  });
});

describe('volume topology', () => {
  it('binds a volume to the keys its backing names, and none when it names none', () => {
    expect(volumeSegments(ebs)).toEqual({ 'topology.stowage.io/region': 'us-east-1' });
    expect(volumeSegments(efs)).toBeUndefined();
    expect(volumeSegments(undefined)).toBeUndefined();
  });

  it('admits a requisite term that agrees on the bound keys, whatever its zone; refuses when none does', async () => {
    const bound = volumeSegments(ebs);
    const term = (segments: Record<string, string>) => ({ segments });
    const otherZone = { 'topology.stowage.io/region': 'us-east-1', 'topology.stowage.io/zone': 'us-east-1c' };
    const otherRegion = { 'topology.stowage.io/region': 'eu-west-1', 'topology.stowage.io/zone': 'eu-west-1a' };
    checkRequisite({ requisite: [term(otherZone)], preferred: [] }, bound);
    checkRequisite({ requisite: [term(otherRegion), term(otherZone)], preferred: [] }, bound);
    checkRequisite({ requisite: [], preferred: [term(otherRegion)] }, bound);
    checkRequisite({ requisite: [term(otherRegion)], preferred: [] }, undefined);
    await expectCode(
      Promise.resolve().then(() => checkRequisite({ requisite: [term(otherRegion)], preferred: [] }, bound)),
      status.RESOURCE_EXHAUSTED,
    );
  });
});
