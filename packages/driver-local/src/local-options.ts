import { ownershipOptions, type OptionSpec } from '@stowage/core';

/** The data directory's mode when none is given: what Docker's own local volumes get. */
export const DEFAULT_MODE = '0755';

/** The create options of the local backing. */
export const LOCAL_OPTIONS: readonly OptionSpec[] = ownershipOptions("the volume's data directory", DEFAULT_MODE);
