/**
 * @stowage/csi-adapter/conformance: the CSI section of the conformance kit. {@link runCsiConformanceSuite} proves a
 * provider behind the CSI plugin, {@link runAdapterConformance} behind both adapters (core's engine suite, which the
 * Docker plugin stands on, and the CSI one) in one call. Needs `vitest`, and root for the bind mounts.
 */
export { runCsiConformanceSuite, type CsiConformanceOptions } from './csi-conformance-suite.js';
export { runAdapterConformance } from './adapter-conformance.js';
export { CsiTestClient, type CsiCallResult } from './csi-test-client.js';
export {
  runCsiSanity,
  sanityPlaces,
  expectSanityPassed,
  unexpectedSkips,
  sanityCounts,
  CAPACITY_UNKNOWN_SKIP,
  LIFECYCLE_SPECS,
  GET_CAPACITY_SPEC,
  type SanityRun,
  type SanitySpec,
  type SanityOptions,
} from './csi-sanity-runner.js';
