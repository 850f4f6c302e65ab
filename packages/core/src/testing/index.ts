/**
 * @stowage/core/testing: the kit a driver author tests a provider with. One call, {@link runConformanceSuite},
 * proves a provider keeps the {@link StorageProvider} contract through a real engine. Needs `vitest`.
 */
export { runConformanceSuite } from './conformance-suite.js';
export type { ConformanceSetup } from './conformance-setup.js';
export { expectStowageError, expectStowageErrorThrown } from './expect-stowage-error.js';
