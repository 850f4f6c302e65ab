import type { NodeFacts } from '../contract/node-facts.js';
import type { VolumeScope } from '../contract/storage-provider.js';

/** A volume as the engine reports it to adapters: the provider's view plus what this node knows. */
export interface Volume {
  readonly name: string;
  /** The provider (backing) the volume belongs to. */
  readonly backing: string;
  readonly scope: VolumeScope;
  readonly createdAt?: Date;
  readonly options: Readonly<Record<string, string>>;
  /**
   * The host path of the volume's data on this node: the active mount if this node has it mounted, else the
   * provider's own path if it has one (local volumes), else undefined.
   */
  readonly mountpoint?: string;
  /** Backend facts plus `mounts` (how many Mount calls this node holds for it). */
  readonly status: Readonly<Record<string, unknown>>;
}

/** A summary of one configured backing, for `Capabilities` and help output. */
export interface BackingSummary {
  readonly name: string;
  readonly aliases: readonly string[];
  readonly scope: VolumeScope;
  readonly isDefault: boolean;
}

/** How many volumes the engine knows one backing to have (see `VolumeEngine.volumeCounts`). */
export interface BackingVolumeCount {
  /** The backing's name. */
  readonly name: string;
  /** Volumes of this backing the catalogue knows. */
  readonly volumes: number;
  /**
   * Whether that is all of them: the backing was listed whole since start-up (every `local`-scope backing is, at
   * start). For a global backing, as of its latest list plus this node's own changes. A backing not yet listed may
   * have volumes the catalogue has not met.
   */
  readonly complete: boolean;
}

/** Whether one backing can serve now, as the engine's `readiness` found it. */
export interface BackingReadiness {
  /** The backing's name. */
  readonly name: string;
  readonly ready: boolean;
  /** Why it is not ready (its check's error, or that the check gave no answer in time); absent when ready. */
  readonly problem?: string;
}

/** What one backing knows of this node (see `StorageProvider.nodeFacts`), as `VolumeEngine.nodeFacts` reports it. */
export interface BackingNodeFacts extends NodeFacts {
  /** The backing's name. */
  readonly backing: string;
}
