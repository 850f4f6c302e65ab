/**
 * @stowage-examples/driver-loopfs: a third-party Stowage driver built only on `@stowage/core`. Each volume is a
 * sparse file formatted ext4 and loop-mounted while in use, so `--opt size=<MiB>` is a hard limit.
 * Load {@link driver} from config (`STOWAGE_LOOPFS_MODULE`), or build a {@link LoopfsProvider} directly.
 */
export { driver } from './loopfs-driver.js';
export { LoopfsProvider, type LoopfsProviderSettings } from './loopfs-provider.js';
export { LOOPFS_OPTIONS, DEFAULT_SIZE_MIB, type LoopfsOptions } from './loopfs-options.js';
