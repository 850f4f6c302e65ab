import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, vi } from 'vitest';
import { VolumeEngine, type EngineStartOptions } from '../../src/engine/volume-engine.js';
import type { MountRecord } from '../../src/engine/mount-record.js';
import { readMountTable } from '../../src/engine/mount-table.js';
import type { HostOperations } from '../../src/host/host-operations.js';
import { VolumeEvents, type StorageProvider, type VolumeEvent } from '../../src/index.js';
import { MemoryProvider } from './memory-provider.js';
import { RecordingLogger } from './recording-logger.js';

/** As the Docker adapter mounts: the Docker engine resends a Mount it got no answer to. */
export const provisional = { provisional: true };
/**
 * As the Docker adapter mounts when the Docker engine's API confirms a Mount is one sent again (no container runs
 * with the volume yet): a Mount the previous process counted and never answered is not counted twice.
 */
export const resent = { provisional: true, isRetry: async () => true };

const noHost = {} as HostOperations;

export interface EngineOptions {
  /** The backings; the harness's {@link MemoryProvider} alone by default. */
  readonly providers?: StorageProvider[];
  readonly defaultBacking?: string;
  readonly backingPreference?: readonly string[];
  readonly lookupTimeoutMs?: number;
  /** The host's boot ID the engine is told (`EngineSettings.bootId`); none by default. */
  readonly bootId?: string;
  /** A fresh copy of the engine's module (see loadWithFailpoints); the one this file imports by default. */
  readonly engineModule?: { VolumeEngine: typeof VolumeEngine };
}

/** Engines on a fresh state directory per test, over a {@link MemoryProvider}; stopped after each test. */
export interface EngineHarness {
  readonly stateDir: string;
  readonly provider: MemoryProvider;
  readonly logger: RecordingLogger;
  /** The hub every engine of the test reports to. */
  readonly hub: VolumeEvents;
  /** What the engines reported, in order. */
  readonly events: readonly VolumeEvent[];
  /** Builds an engine on the state directory (not started); stopped after the test if it started. */
  create(options?: EngineOptions): VolumeEngine;
  /** Builds and starts an engine. */
  start(options?: EngineOptions & EngineStartOptions): Promise<VolumeEngine>;
  /** The volume's record as a restart would read it. */
  recordOf(name: string): Promise<MountRecord | undefined>;
}

/** Registers the hooks that give each test of the calling file its own {@link EngineHarness}. */
export function useEngineHarness(): EngineHarness {
  const engines: VolumeEngine[] = [];
  let stateDir = '';
  let provider = new MemoryProvider();
  let logger = new RecordingLogger();
  let hub = new VolumeEvents({ logger });
  let events: VolumeEvent[] = [];

  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'stowage-engine-'));
    provider = new MemoryProvider();
    logger = new RecordingLogger();
    hub = new VolumeEvents({ logger });
    const seen: VolumeEvent[] = [];
    hub.subscribe((event) => seen.push(event));
    events = seen;
  });

  afterEach(async () => {
    vi.useRealTimers();
    vi.restoreAllMocks();
    for (const engine of engines.splice(0)) await engine.stop();
    await rm(stateDir, { recursive: true, force: true });
  });

  const harness: EngineHarness = {
    get stateDir() {
      return stateDir;
    },
    get provider() {
      return provider;
    },
    get logger() {
      return logger;
    },
    get hub() {
      return hub;
    },
    get events() {
      return events;
    },
    create({
      providers = [provider],
      defaultBacking,
      backingPreference,
      lookupTimeoutMs,
      bootId,
      engineModule = { VolumeEngine },
    } = {}) {
      const engine = new engineModule.VolumeEngine(
        providers,
        noHost,
        logger,
        {
          stateDir,
          ...(defaultBacking ? { defaultBacking } : {}),
          ...(backingPreference ? { backingPreference } : {}),
          ...(lookupTimeoutMs !== undefined ? { lookupTimeoutMs } : {}),
          ...(bootId !== undefined ? { bootId } : {}),
        },
        hub,
      );
      engines.push(engine);
      return engine;
    },
    async start({ providers, defaultBacking, backingPreference, bootId, engineModule, ...options } = {}) {
      const engine = harness.create({ providers, defaultBacking, backingPreference, bootId, engineModule });
      await engine.start(options);
      return engine;
    },
    async recordOf(name) {
      return (await readMountTable(stateDir)).get(name);
    },
  };
  return harness;
}

/** The StowageError `promise` rejects with. */
export { expectStowageError as rejection } from '../../src/testing/expect-stowage-error.js';
