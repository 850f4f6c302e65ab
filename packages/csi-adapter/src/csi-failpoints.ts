import { failpointsOf } from '@stowage/core';

/**
 * The steps of a publish and an unpublish where a crash leaves the node between two states (the engine's hold taken
 * but no bind yet, a bind whose answer never left, a bind undone but its hold kept). TEST-ONLY, as core's failpoints
 * are: `STOWAGE_FAILPOINTS=csi:publish:after-hold` kills the plugin there; the crash tier proves the CO's retry after
 * a restart finishes the call with one hold and no leaked mount.
 */
export const CSI_FAILPOINTS = [
  'csi:publish:after-hold',
  'csi:publish:after-bind',
  'csi:unpublish:after-unbind',
] as const;

export type CsiFailpoint = (typeof CSI_FAILPOINTS)[number];

export const csiFailpoint = failpointsOf(CSI_FAILPOINTS);
