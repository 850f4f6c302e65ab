import { composeStowage, type Logger, type Stowage, type StowageConfig, type StowageTelemetry } from '@stowage/core';
import { FIRST_PARTY_PREFERENCE } from './first-party-drivers.js';
import { resolveDrivers } from './resolve-drivers.js';

/** Options of {@link composeFromConfig}. */
export interface ComposeFromConfigOptions {
  readonly logger: Logger;
  /** Where driver modules named in config are resolved from. */
  readonly cwd: string;
  /** Where cloud API calls and journal writes are reported (the ops server's metrics); nowhere by default. */
  readonly telemetry?: StowageTelemetry;
}

/** Loads the configured drivers and composes Stowage over them; the engine is returned not yet started. */
export async function composeFromConfig(config: StowageConfig, options: ComposeFromConfigOptions): Promise<Stowage> {
  const drivers = await resolveDrivers(config, { cwd: options.cwd });
  return composeStowage({
    config,
    drivers,
    logger: options.logger,
    backingPreference: FIRST_PARTY_PREFERENCE,
    telemetry: options.telemetry,
  });
}
