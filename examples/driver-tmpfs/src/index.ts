/**
 * @stowage-examples/driver-tmpfs: the smallest complete third-party Stowage driver, built only on `@stowage/core`.
 * Each volume is mounted as a fresh tmpfs of `--opt size=<n>k|m|g` while in use; it declares
 * `capabilities.ephemeral`, since its data goes with the Unmount. Load {@link driver} from config
 * (`STOWAGE_TMPFS_MODULE`), or build a {@link TmpfsProvider} directly.
 */
export { driver } from './tmpfs-driver.js';
export { TmpfsProvider, type TmpfsProviderSettings } from './tmpfs-provider.js';
export { TMPFS_OPTIONS, MAX_SIZE_BYTES, sizeInBytes, type TmpfsOptions } from './tmpfs-options.js';
