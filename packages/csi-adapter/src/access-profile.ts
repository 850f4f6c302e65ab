import type { BackingSummary } from '@stowage/core';
import type { VolumeCapability__Output } from './generated/csi/v1/VolumeCapability.js';

/** An access mode's name as the proto spells it. */
export type AccessModeName = NonNullable<VolumeCapability__Output['access_mode']>['mode'];

/** What a backing's volumes can be published as: the access modes and types a CO may ask for. */
export interface AccessProfile {
  readonly accessModes: ReadonlySet<AccessModeName>;
  /** `mount` (a directory) and, for a backing that hands out raw devices, `block`. */
  readonly accessTypes: ReadonlySet<'mount' | 'block'>;
}

// SINGLE_NODE_SINGLE_WRITER and SINGLE_NODE_MULTI_WRITER exist only for plugins advertising the SINGLE_NODE_MULTI_WRITER
// capability, which this one does not: a CO must not send them, and they are refused like any unsupported mode.
const SINGLE_NODE: ReadonlySet<AccessModeName> = new Set(['SINGLE_NODE_WRITER', 'SINGLE_NODE_READER_ONLY']);
const MULTI_NODE: ReadonlySet<AccessModeName> = new Set([
  ...SINGLE_NODE,
  'MULTI_NODE_READER_ONLY',
  'MULTI_NODE_SINGLE_WRITER',
  'MULTI_NODE_MULTI_WRITER',
]);

/**
 * Backings whose volumes every node may use at once (a network file system): the shared backing (EFS). Every other
 * backing, the local directory and the relocatable disk (EBS, attached to one instance at a time) among them, and
 * any third-party one, is single-node: the safe answer for a backing we know nothing of.
 */
const MULTI_NODE_BACKINGS: ReadonlySet<string> = new Set(['efs', 'shared']);

/** The access profile of a configured backing. */
export function accessProfile(backing: BackingSummary): AccessProfile {
  const shared = [backing.name, ...backing.aliases].some((name) => MULTI_NODE_BACKINGS.has(name));
  return { accessModes: shared ? MULTI_NODE : SINGLE_NODE, accessTypes: new Set(['mount']) };
}

/** Why `capability` cannot be served by a backing of `profile`, or undefined when it can. */
export function unsupportedReason(
  profile: AccessProfile,
  capability: VolumeCapability__Output,
  backing: string,
): string | undefined {
  const type = capability.access_type;
  if (type === undefined || !profile.accessTypes.has(type)) {
    return `access type ${type ?? 'unset'} is not supported by backing ${backing} (supported: ${[...profile.accessTypes].join(', ')})`;
  }
  const mode = capability.access_mode?.mode;
  if (mode === undefined || !profile.accessModes.has(mode)) {
    return `access mode ${mode ?? 'unset'} is not supported by backing ${backing} (supported: ${[...profile.accessModes].join(', ')})`;
  }
  return undefined;
}

/** Whether a capability asks for a read-only publication whatever the request's `readonly` says. */
export function isReaderOnly(capability: VolumeCapability__Output): boolean {
  const mode = capability.access_mode?.mode;
  return mode === 'SINGLE_NODE_READER_ONLY' || mode === 'MULTI_NODE_READER_ONLY';
}
