import type { BackingNodeFacts } from '@stowage/core';
import type { Topology } from './generated/csi/v1/Topology.js';
import type { TopologyRequirement__Output } from './generated/csi/v1/TopologyRequirement.js';
import { CsiError } from './csi-error.js';

/** Where Stowage's topology keys live: `topology.stowage.io/zone`, `topology.stowage.io/region`. */
export const TOPOLOGY_KEY_PREFIX = 'topology.stowage.io/';

type Segments = Record<string, string>;

const prefixed = (segments: Readonly<Record<string, string>>): Segments =>
  Object.fromEntries(Object.entries(segments).map(([key, value]) => [`${TOPOLOGY_KEY_PREFIX}${key}`, value]));

/** Whether any backing places this node (VOLUME_ACCESSIBILITY_CONSTRAINTS is advertised only then). */
export function hasTopology(facts: readonly BackingNodeFacts[]): boolean {
  return facts.some((f) => Object.keys(f.topology ?? {}).length > 0);
}

/** The node's segments for NodeGetInfo: every backing's, the default backing's first when two name one key. */
export function nodeSegments(facts: readonly BackingNodeFacts[]): Segments | undefined {
  if (!hasTopology(facts)) return undefined;
  return prefixed(Object.assign({}, ...[...facts].reverse().map((f) => f.topology ?? {})));
}

/**
 * Where a volume made from this node by `facts`' backing can be used: the segments it stays bound to (an EBS volume
 * its region, since Stowage moves it between the region's zones), or undefined when it is usable from every node.
 */
export function volumeSegments(facts: BackingNodeFacts | undefined): Segments | undefined {
  const keys = facts?.volumeTopology ?? [];
  const topology = facts?.topology ?? {};
  const bound = keys.filter((key) => topology[key] !== undefined);
  if (bound.length === 0) return undefined;
  return prefixed(Object.fromEntries(bound.map((key) => [key, topology[key] as string])));
}

/** A volume's accessible_topology: one topology, the segments it is bound to. */
export function accessibleTopology(segments: Segments): Topology[] {
  return [{ segments }];
}

/**
 * Refuses (RESOURCE_EXHAUSTED, the spec's "cannot be provisioned with the specified topology constraints") a create
 * whose requisite topologies all exclude where the volume would be usable: a term excludes it when it names one of
 * the volume's keys with another value. Keys the volume is not bound to (another zone of its region) do not exclude.
 */
export function checkRequisite(requirement: TopologyRequirement__Output | null, segments: Segments | undefined): void {
  const requisite = requirement?.requisite ?? [];
  if (!segments || requisite.length === 0) return;
  const admits = (term: Segments) =>
    Object.entries(segments).every(([key, value]) => term[key] === undefined || term[key] === value);
  if (!requisite.some((term) => admits(term.segments ?? {}))) {
    throw CsiError.resourceExhausted(
      `accessibility_requirements: no requisite topology admits ${JSON.stringify(segments)}, where volumes made from this node can be used`,
    );
  }
}
