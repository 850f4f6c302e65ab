import 'reflect-metadata';
import { Container } from 'inversify';
import type { StowageConfig } from '../config/stowage-config.js';
import type { StowageDriver } from '../contract/driver-definition.js';
import { StowageError } from '../errors/stowage-error.js';
import { ENGINE_SETTINGS, VolumeEngine } from '../engine/volume-engine.js';
import { readBootId } from '../host/boot-id.js';
import { driverModule, parseDriverSettings } from './driver-module.js';
import { VolumeEvents } from '../events/volume-events.js';
import type { HostOperations } from '../host/host-operations.js';
import { SystemHostOperations } from '../host/system-host-operations.js';
import type { Logger } from '../logging/logger.js';
import { guardedTelemetry } from '../telemetry/guarded-telemetry.js';
import { NO_TELEMETRY, type StowageTelemetry } from '../telemetry/stowage-telemetry.js';
import { HOST_OPERATIONS, LOGGER, NODE_CONTEXT, TELEMETRY, VOLUME_EVENTS } from '../tokens.js';

export interface ComposeOptions {
  readonly config: StowageConfig;
  /** The loaded driver definitions; every driver enabled in `config.drivers` must be among them. */
  readonly drivers: readonly StowageDriver[];
  readonly logger: Logger;
  /** Host operations to share with drivers; the real system tools by default. */
  readonly host?: HostOperations;
  /** The default backing's order of preference when the config sets none (see `EngineSettings.backingPreference`). */
  readonly backingPreference?: readonly string[];
  /** How many of the latest events `events.since` can replay; 1,000 by default. */
  readonly eventBuffer?: number;
  /**
   * Where this Stowage reports cloud API calls and journal writes (the embedder's metrics exporter), shared by the
   * engine and every driver; nowhere when left out. A throwing observer is logged once and otherwise ignored.
   */
  readonly telemetry?: StowageTelemetry;
}

/** A composed Stowage: the engine (not yet started), its event hub and the container that built it. */
export interface Stowage {
  readonly engine: VolumeEngine;
  /** What happens to volumes, as the engine and the drivers report it: subscribe, or replay the latest. */
  readonly events: VolumeEvents;
  readonly container: Container;
  /** Stops the engine (mounts stay recorded) and unbinds everything. */
  close(): Promise<void>;
}

/**
 * The composition root every adapter and embedder shares: binds the shared services, validates each enabled
 * driver's settings against its declaration, loads the driver's container module (made here from its `create`, or
 * its own `module`), and resolves the engine, which receives every provider by multi-injection.
 */
export async function composeStowage(options: ComposeOptions): Promise<Stowage> {
  const { config, drivers, logger } = options;
  const container = new Container({ defaultScope: 'Singleton' });
  const host = options.host ?? new SystemHostOperations({ logger });
  const node = { stateDir: config.stateDir };
  const telemetry = options.telemetry ? guardedTelemetry(options.telemetry, logger) : NO_TELEMETRY;
  container.bind(LOGGER).toConstantValue(logger);
  container.bind(HOST_OPERATIONS).toConstantValue(host);
  container.bind(NODE_CONTEXT).toConstantValue(node);
  const events = new VolumeEvents({
    logger,
    ...(options.eventBuffer !== undefined ? { capacity: options.eventBuffer } : {}),
  });
  container.bind(VOLUME_EVENTS).toConstantValue(events);
  container.bind(TELEMETRY).toConstantValue(telemetry);
  const bootId = await readBootId();
  container.bind(ENGINE_SETTINGS).toConstantValue({
    stateDir: config.stateDir,
    ...(bootId !== undefined ? { bootId } : {}),
    ...(config.defaultBacking !== undefined ? { defaultBacking: config.defaultBacking } : {}),
    ...(options.backingPreference !== undefined ? { backingPreference: options.backingPreference } : {}),
  });

  const enabled = Object.entries(config.drivers);
  if (enabled.length === 0) throw StowageError.invalidArgument('config: no driver is enabled');
  for (const [name, driverConfig] of enabled) {
    const driver = drivers.find((d) => d.name === name);
    if (!driver) {
      throw StowageError.invalidArgument(`config: driver "${name}" is enabled but was not loaded`);
    }
    const settings = parseDriverSettings(driver, driverConfig.settings);
    await container.load(await driverModule(driver, settings, { host, logger, node, events, telemetry }));
  }
  container.bind(VolumeEngine).toSelf();
  const engine = container.get(VolumeEngine);
  return {
    engine,
    events,
    container,
    async close() {
      await engine.stop();
      container.unbindAll();
    },
  };
}
