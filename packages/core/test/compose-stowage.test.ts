import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContainerModule } from 'inversify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { composeStowage } from '../src/compose/compose-stowage.js';
import type { StowageConfig } from '../src/config/stowage-config.js';
import { defineDriver } from '../src/contract/driver-definition.js';
import { ErrorKind } from '../src/errors/error-kind.js';
import { StowageError } from '../src/errors/stowage-error.js';
import { ENGINE_SETTINGS } from '../src/engine/volume-engine.js';
import { readBootId } from '../src/host/boot-id.js';
import type { HostOperations } from '../src/host/host-operations.js';
import { HOST_OPERATIONS, NODE_CONTEXT, STORAGE_PROVIDER, VOLUME_EVENTS } from '../src/tokens.js';
import { driverProviders } from '../src/compose/driver-module.js';
import { MemoryProvider } from './support/memory-provider.js';
import { silentLogger } from './support/silent-logger.js';

const host = { marker: 'fake host' } as unknown as HostOperations;

// A driver the way a third party writes one: settings declared, provider bound in its own module.
function memoryDriver(name: string, seen: Array<{ settings: unknown; host: unknown; stateDir: string }>) {
  return defineDriver({
    name,
    description: `in-memory ${name}`,
    settings: [
      { name: 'flavour', type: 'string', description: 'a setting', values: ['plain', 'spicy'], default: 'plain' },
    ],
    module: (settings) =>
      new ContainerModule(({ bind }) => {
        bind(STORAGE_PROVIDER).toDynamicValue((ctx) => {
          seen.push({ settings, host: ctx.get(HOST_OPERATIONS), stateDir: ctx.get(NODE_CONTEXT).stateDir });
          return new MemoryProvider(name);
        });
      }),
  });
}

describe('composeStowage', () => {
  let stateDir: string;
  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'stowage-compose-'));
  });
  afterEach(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  const config = (drivers: StowageConfig['drivers']): StowageConfig => ({
    stateDir,
    logLevel: 'silent',
    drivers,
  });

  it('loads every enabled driver module and multi-injects their providers into the engine', async () => {
    const seen: Array<{ settings: unknown; host: unknown; stateDir: string }> = [];
    const stowage = await composeStowage({
      config: config({ one: { settings: { flavour: 'spicy' } }, two: { settings: {} } }),
      drivers: [memoryDriver('one', seen), memoryDriver('two', seen), memoryDriver('unused', seen)],
      logger: silentLogger,
      host,
    });
    await stowage.engine.start();
    try {
      expect(stowage.engine.backings().map((b) => b.name)).toEqual(['one', 'two']);
      expect(seen).toEqual([
        { settings: { flavour: 'spicy' }, host, stateDir },
        { settings: { flavour: 'plain' }, host, stateDir },
      ]);
      expect((await stowage.engine.create('v', { backing: 'two' })).backing).toBe('two');
    } finally {
      await stowage.close();
    }
  });

  it("tells the engine this host's boot, so that each hold it counts carries it", async () => {
    const stowage = await composeStowage({
      config: config({ one: { settings: {} } }),
      drivers: [memoryDriver('one', [])],
      logger: silentLogger,
      host,
    });
    const boot = await readBootId();
    expect(stowage.container.get(ENGINE_SETTINGS).bootId).toBe(boot);
    await stowage.engine.start();
    try {
      await stowage.engine.create('v', {});
      await stowage.engine.mount('v', 'c1');
      expect(stowage.engine.holds()[0]?.callers[0]?.boot).toBe(boot);
    } finally {
      await stowage.close();
    }
  });

  it('validates driver settings with the driver named in the message', async () => {
    const error = await composeStowage({
      config: config({ one: { settings: { flavour: 'bland', colour: 'x' } } }),
      drivers: [memoryDriver('one', [])],
      logger: silentLogger,
      host,
    }).catch((e: unknown) => e);
    expect(StowageError.is(error, ErrorKind.InvalidArgument)).toBe(true);
    expect((error as Error).message).toBe(
      'config: driver one: unknown option "colour" for driver one (known options: flavour); ' +
        'flavour: must be one of plain, spicy, got "bland" (settings come from drivers.one.settings in the config ' +
        'file, or from STOWAGE_ONE_<SETTING> variables)',
    );
  });

  it('refuses a configured driver that was not loaded', async () => {
    await expect(
      composeStowage({ config: config({ ghost: { settings: {} } }), drivers: [], logger: silentLogger, host }),
    ).rejects.toThrow('config: driver "ghost" is enabled but was not loaded');
  });

  it("gives every driver the Stowage's event hub, which the engine reports to as well", async () => {
    const reported: string[] = [];
    const byCreate = defineDriver({
      name: 'made',
      description: 'reports a snapshot from its create',
      create: ({ events }) => {
        events.emit({ type: 'snapshot.pruned', volume: 'old', backing: 'made', snapshotId: 'snap-1' });
        return new MemoryProvider('made');
      },
    });
    const byModule = defineDriver({
      name: 'bound',
      description: 'takes the hub from the container',
      module: () =>
        new ContainerModule(({ bind }) => {
          bind(STORAGE_PROVIDER).toDynamicValue((ctx) => {
            ctx.get(VOLUME_EVENTS, { optional: true })?.emit({ type: 'volume.removed', volume: 'x', backing: 'bound' });
            return new MemoryProvider('bound');
          });
        }),
    });
    const stowage = await composeStowage({
      config: config({ made: { settings: {} }, bound: { settings: {} } }),
      drivers: [byCreate, byModule],
      logger: silentLogger,
      host,
      eventBuffer: 2,
    });
    stowage.events.subscribe((event) => reported.push(`${event.seq} ${event.type} ${event.volume}`));
    await stowage.engine.start();
    try {
      await stowage.engine.create('v', { backing: 'bound' });
      expect(reported).toEqual(['3 volume.created v']);
      // The two the drivers reported while they were built, before anyone subscribed, and the create: 2 kept.
      expect(stowage.events.since(0).events.map((e) => e.type)).toEqual(['volume.removed', 'volume.created']);
    } finally {
      await stowage.close();
    }
  });

  it('builds a driver without a hub for its own tests: what it reports goes nowhere', async () => {
    let emitted = false;
    const providers = await driverProviders(
      defineDriver({
        name: 'alone',
        description: 'reports with no one listening',
        create: ({ events }) => {
          events.emit({ type: 'volume.removed', volume: 'x', backing: 'alone' });
          emitted = true;
          return new MemoryProvider('alone');
        },
      }),
      { stateDir, logger: silentLogger, host },
    );
    expect(emitted).toBe(true);
    expect(providers.map((p) => p.name)).toEqual(['alone']);
  });
});
