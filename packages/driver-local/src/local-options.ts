import { defineOptions, ownershipOptions, type InferOptions } from '@stowage/core';

/** The data directory's mode when none is given: what Docker's own local volumes get. */
export const DEFAULT_MODE = '0755';

/** The create options of the local backing. */
export const LOCAL_OPTIONS = defineOptions(ownershipOptions("the volume's data directory", DEFAULT_MODE));

/** The parsed create options of a local volume. */
export type LocalOptions = InferOptions<typeof LOCAL_OPTIONS>;
