/**
 * @stowage/driver-local: directory volumes on this host, the backing Stowage serves with no cloud configured.
 * Load {@link driver} like any other driver, or build a {@link LocalProvider} directly when embedding.
 */
export { driver, type LocalSettings } from './local-driver.js';
export {
  LocalProvider,
  DEFAULT_LOCAL_ROOT,
  type LocalProviderSettings,
  type LocalProviderHooks,
} from './local-provider.js';
export { LOCAL_OPTIONS, DEFAULT_MODE, type LocalOptions } from './local-options.js';
export { LOCAL_FAILPOINTS } from './local-failpoints.js';
export { BLANKS_KEPT } from './volume-blanks.js';
export { BLANK_PREFIX } from './volume-layout.js';
