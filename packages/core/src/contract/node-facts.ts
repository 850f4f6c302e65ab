/**
 * What a backing knows of the node it runs on, for orchestrators that place volumes on nodes (CSI's NodeGetInfo and
 * topology). Every field is optional: a backing tells what it knows and the adapter falls back for the rest.
 */
export interface NodeFacts {
  /** This node's id in the backing's world (an EC2 instance id), so a controller can act on the node by it. */
  readonly nodeId?: string;
  /** The most volumes of this backing this node can have in use at once (an instance's attach limit). */
  readonly maxVolumes?: number;
  /**
   * Where this node is, as segments a backing's volumes can be bound to: `{ region: 'us-east-1', zone: 'us-east-1a' }`.
   * Keys are plain words (letters, digits, `-`, `_`, `.`); an adapter namespaces them (`topology.stowage.io/zone`).
   */
  readonly topology?: Readonly<Record<string, string>>;
  /**
   * The keys of {@link topology} a volume created from this node stays bound to: where it can be used. `['region']`
   * for a volume the backing moves between zones itself (EBS by snapshot), `['zone']` for one it cannot move.
   * Left out or empty, the volumes are usable from every node.
   */
  readonly volumeTopology?: readonly string[];
}
