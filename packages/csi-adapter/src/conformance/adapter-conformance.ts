import { type ConformanceSetup, runConformanceSuite } from '@stowage/core/testing';
import { type CsiConformanceOptions, runCsiConformanceSuite } from './csi-conformance-suite.js';

/**
 * One provider proved behind both adapters in one call: core's conformance suite (the provider contract through the
 * engine, which the Docker volume plugin is a thin layer over) and {@link runCsiConformanceSuite} (the same provider
 * as a CSI plugin, through a gRPC client). One `setup`, as core's suite takes it.
 */
export function runAdapterConformance(
  name: string,
  setup: () => Promise<ConformanceSetup>,
  options: CsiConformanceOptions = {},
): void {
  runConformanceSuite(name, setup);
  runCsiConformanceSuite(name, setup, options);
}
