import { StowageError, driverSettingEnvName } from '@stowage/core';
import { imdsReader, type MetadataReader } from './metadata-reader.js';

/** Where this node is in EC2. */
export interface NodeIdentity {
  readonly region: string;
  readonly instanceId: string;
  readonly availabilityZone: string;
}

/** One part of a {@link NodeIdentity}; also the name of the driver setting that gives it. */
export type NodeIdentityField = keyof NodeIdentity;

/** How {@link resolveNodeIdentity} reads what the settings leave unset. */
export interface ResolveNodeIdentityOptions {
  /** The driver whose settings these are (`ebs`): the error names its setting and environment variable. */
  readonly driver: string;
  /** Reads instance metadata; {@link imdsReader} by default. */
  readonly reader?: MetadataReader;
  /** The default reader's endpoint (see {@link ImdsReaderOptions}); ignored when `reader` is given. */
  readonly endpoint?: string;
}

/** Where each field is in instance metadata, and how a message names it. */
const METADATA: Readonly<Record<NodeIdentityField, { readonly path: string; readonly what: string }>> = {
  region: { path: '/latest/meta-data/placement/region', what: 'region' },
  instanceId: { path: '/latest/meta-data/instance-id', what: 'instance id' },
  availabilityZone: { path: '/latest/meta-data/placement/availability-zone', what: 'availability zone' },
};

/**
 * This node's identity: each field in `need` from `wanted` (the driver's settings) when set, else from EC2 instance
 * metadata, read once, in `need`'s order; fields not needed are never read. Settings serve tests and hosts that are
 * not EC2 instances; drivers call this once at start-up, since a node does not change instance or zone while running.
 *
 * @throws StowageError BackendFailure when metadata cannot be read; the message names the setting and its
 * `STOWAGE_<DRIVER>_<SETTING>` variable.
 */
export async function resolveNodeIdentity<N extends NodeIdentityField>(
  wanted: Partial<NodeIdentity>,
  need: readonly N[],
  options: ResolveNodeIdentityOptions,
): Promise<Partial<NodeIdentity> & Pick<NodeIdentity, N>> {
  const found: { -readonly [F in NodeIdentityField]?: string } = {};
  for (const field of Object.keys(METADATA) as NodeIdentityField[]) {
    const value = wanted[field];
    // An empty setting (an empty environment variable) means unset.
    if (value) found[field] = value;
  }
  let reader = options.reader;
  for (const field of need) {
    if (found[field] !== undefined) continue;
    reader ??= imdsReader(options.endpoint !== undefined ? { endpoint: options.endpoint } : {});
    found[field] = await readField(reader, field, options.driver);
  }
  return found as Partial<NodeIdentity> & Pick<NodeIdentity, N>;
}

async function readField(reader: MetadataReader, field: NodeIdentityField, driver: string): Promise<string> {
  const { path, what } = METADATA[field];
  try {
    const value = (await reader(path)).trim();
    if (value === '') throw new Error('empty answer');
    return value;
  } catch (error) {
    throw StowageError.backendFailure(
      `cannot read this node's ${what} from the EC2 instance metadata service (${(error as Error).message}); ` +
        `set the ${driver} driver's ${field} setting (${driverSettingEnvName(driver, field)}) when not on EC2`,
      error,
    );
  }
}
