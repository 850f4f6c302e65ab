import { failpointsOf } from '@stowage/core';

/**
 * The local driver's failpoints (see core's `failpoint`), inside the steps the engine sees as one: a volume's
 * directory made but its metadata not yet written, built but not yet published under its name, and withdrawn from
 * its name but its data not yet deleted.
 */
export const LOCAL_FAILPOINTS = [
  'local:create:before-metadata',
  'local:create:before-publish',
  'local:remove:after-withdraw',
] as const;

export const localFailpoint = failpointsOf(LOCAL_FAILPOINTS);
