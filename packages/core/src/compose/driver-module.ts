import { join } from 'node:path';
import 'reflect-metadata';
import { Container, ContainerModule } from 'inversify';
import type { StowageDriver } from '../contract/driver-definition.js';
import type { OptionValues } from '../contract/option-spec.js';
import type { StorageProvider } from '../contract/storage-provider.js';
import { parseOptions, type RawValues } from '../engine/option-parser.js';
import { ErrorKind } from '../errors/error-kind.js';
import { NO_VOLUME_EVENTS, type VolumeEventSink } from '../events/volume-event-sink.js';
import { StowageError } from '../errors/stowage-error.js';
import type { HostOperations } from '../host/host-operations.js';
import { SystemHostOperations } from '../host/system-host-operations.js';
import { createLogger } from '../logging/create-logger.js';
import type { Logger } from '../logging/logger.js';
import { guardedTelemetry } from '../telemetry/guarded-telemetry.js';
import { NO_TELEMETRY, type StowageTelemetry } from '../telemetry/stowage-telemetry.js';
import {
  HOST_OPERATIONS,
  LOGGER,
  NODE_CONTEXT,
  STORAGE_PROVIDER,
  TELEMETRY,
  VOLUME_EVENTS,
  type NodeContext,
} from '../tokens.js';

/** The shared services a driver is built with. */
export interface DriverServices {
  readonly host: HostOperations;
  readonly logger: Logger;
  readonly node: NodeContext;
  readonly events: VolumeEventSink;
  readonly telemetry: StowageTelemetry;
}

/**
 * The inversify module of one driver, given its validated settings: the driver's own `module`, or one that binds
 * each provider its `create` returns to `STORAGE_PROVIDER`. `create` runs here, before the module is loaded, because
 * the number of bindings is the number of providers it returns.
 */
export async function driverModule(
  driver: StowageDriver,
  settings: OptionValues,
  services: DriverServices,
): Promise<ContainerModule> {
  if (driver.create === undefined) return driver.module(settings);
  const created = await driver.create({
    settings,
    host: services.host,
    logger: services.logger.child({ backing: driver.name }),
    node: services.node,
    telemetry: services.telemetry,
    driverDir: join(services.node.stateDir, 'drivers', driver.name),
    events: services.events,
  });
  const providers: readonly StorageProvider[] = Array.isArray(created) ? created : [created as StorageProvider];
  if (providers.length === 0) throw StowageError.invalidArgument(`driver ${driver.name}: create returned no provider`);
  return new ContainerModule(({ bind }) => {
    for (const provider of providers) bind(STORAGE_PROVIDER).toConstantValue(provider);
  });
}

/** The driver's settings, validated; a refusal names where settings come from, file or environment. */
export function parseDriverSettings(driver: StowageDriver, raw: RawValues): OptionValues {
  try {
    return parseOptions(driver.settings ?? [], raw, `driver ${driver.name}`);
  } catch (error) {
    if (!StowageError.is(error, ErrorKind.InvalidArgument)) throw error;
    throw StowageError.invalidArgument(
      `config: driver ${driver.name}: ${error.message} (settings come from drivers.${driver.name}.settings in the ` +
        `config file, or from STOWAGE_${driver.name.toUpperCase()}_<SETTING> variables)`,
      error,
    );
  }
}

/** What {@link driverProviders} builds a driver with; the real host and a silent logger when left out. */
export interface DriverProvidersInput {
  /** Raw settings, as config or env would give them. */
  readonly settings?: RawValues;
  readonly stateDir: string;
  readonly host?: HostOperations;
  readonly logger?: Logger;
  /** Where the providers report volume events; nowhere by default. */
  readonly events?: VolumeEventSink;
  /** Where the providers report calls and writes; nowhere when left out. */
  readonly telemetry?: StowageTelemetry;
}

/**
 * The providers one driver makes from raw settings, built exactly as the composition root builds them (settings
 * validated, the driver's inversify module loaded), without an engine: for a driver's own tests and for tools.
 */
export async function driverProviders(driver: StowageDriver, input: DriverProvidersInput): Promise<StorageProvider[]> {
  const logger = input.logger ?? createLogger({ level: 'silent' });
  const host = input.host ?? new SystemHostOperations({ logger });
  const node = { stateDir: input.stateDir };
  const telemetry = input.telemetry ? guardedTelemetry(input.telemetry, logger) : NO_TELEMETRY;
  const container = new Container({ defaultScope: 'Singleton' });
  container.bind(LOGGER).toConstantValue(logger);
  container.bind(HOST_OPERATIONS).toConstantValue(host);
  container.bind(NODE_CONTEXT).toConstantValue(node);
  if (input.events) container.bind(VOLUME_EVENTS).toConstantValue(input.events);
  const events = input.events ?? NO_VOLUME_EVENTS;
  container.bind(TELEMETRY).toConstantValue(telemetry);
  await container.load(
    await driverModule(driver, parseDriverSettings(driver, input.settings ?? {}), {
      host,
      logger,
      node,
      events,
      telemetry,
    }),
  );
  return container.getAll(STORAGE_PROVIDER);
}
