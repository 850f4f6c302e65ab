import { hostname } from 'node:os';
import type { BackingNodeFacts, VolumeEngine } from '@stowage/core';
import type { NodeGetInfoResponse } from './generated/csi/v1/NodeGetInfoResponse.js';
import { nodeSegments } from './topology.js';

/** What the backings know of this node, the default backing's facts first. */
export function nodeFactsOf(engine: VolumeEngine): BackingNodeFacts[] {
  const defaultBacking = engine.backings().find((b) => b.isDefault)?.name;
  const facts = engine.nodeFacts();
  return [...facts.filter((f) => f.backing === defaultBacking), ...facts.filter((f) => f.backing !== defaultBacking)];
}

/**
 * NodeGetInfo's answer. The node id is `nodeId` when given (`--node-id`), else the first a backing knows (the EC2
 * instance id), else the hostname. The volume limit is the smallest any backing has (an instance's attach limit):
 * one number covers every backing of the plugin, and a CO keeping to the smallest never overruns it; 0, no limit,
 * when none has one.
 */
export function nodeInfo(facts: readonly BackingNodeFacts[], nodeId: string | undefined): NodeGetInfoResponse {
  const limits = facts.map((f) => f.maxVolumes ?? 0).filter((limit) => limit > 0);
  const segments = nodeSegments(facts);
  return {
    node_id: nodeId ?? facts.find((f) => f.nodeId)?.nodeId ?? hostname(),
    max_volumes_per_node: limits.length > 0 ? Math.min(...limits) : 0,
    ...(segments ? { accessible_topology: { segments } } : {}),
  };
}
