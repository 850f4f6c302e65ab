import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, expectTypeOf, it } from 'vitest';
import { composeStowage } from '../src/compose/compose-stowage.js';
import { driverProviders } from '../src/compose/driver-module.js';
import type { StowageConfig } from '../src/config/stowage-config.js';
import { defineOptions, type InferOptions } from '../src/contract/define-options.js';
import { defineDriver, type DriverContext } from '../src/contract/driver-definition.js';
import type { CreateRequest, StorageProvider } from '../src/contract/storage-provider.js';
import { ErrorKind } from '../src/errors/error-kind.js';
import { StowageError } from '../src/errors/stowage-error.js';
import type { HostOperations } from '../src/host/host-operations.js';
import type { Logger } from '../src/logging/logger.js';
import { STORAGE_PROVIDER } from '../src/tokens.js';
import { MemoryProvider } from './support/memory-provider.js';
import { silentLogger } from './support/silent-logger.js';

const host = { marker: 'fake host' } as unknown as HostOperations;

const SIZE_OPTIONS = defineOptions({
  size: { type: 'integer', description: 'size in MiB', default: 16, min: 1 },
  flavour: { type: 'string', description: 'taste', values: ['plain', 'spicy'] },
});

/** A provider with typed create options, built from typed settings, the way the guide's drivers are. */
class SizedProvider extends MemoryProvider implements StorageProvider<InferOptions<typeof SIZE_OPTIONS>> {
  declare readonly options: typeof SIZE_OPTIONS;
  readonly sizes: number[] = [];
  constructor(
    name: string,
    readonly root: string,
    readonly logger: Logger,
  ) {
    super(name, 'local', SIZE_OPTIONS);
  }
  override async create(request: CreateRequest<InferOptions<typeof SIZE_OPTIONS>>) {
    expectTypeOf(request.options.size).toEqualTypeOf<number>();
    this.sizes.push(request.options.size);
    return super.create(request);
  }
}

// A driver the way a third party writes one now: declarations, and a create that returns the provider.
function sizedDriver(name: string, seen: Array<DriverContext<unknown>>) {
  return defineDriver({
    name,
    description: `in-memory ${name}`,
    settings: defineOptions({
      root: { type: 'string', description: 'where volumes live', pattern: /\/.*/, patternHint: 'an absolute path' },
      password: { type: 'string', description: 'a credential', secret: true },
      verbose: { type: 'boolean', description: 'say more', default: false },
    }),
    options: SIZE_OPTIONS,
    create: (ctx) => {
      expectTypeOf(ctx.settings).toEqualTypeOf<{
        readonly verbose: boolean;
        readonly root?: string;
        readonly password?: string;
      }>();
      seen.push(ctx);
      return new SizedProvider(name, ctx.settings.root ?? ctx.driverDir, ctx.logger);
    },
  });
}

describe('defineDriver with create', () => {
  let stateDir: string;
  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'stowage-define-driver-'));
  });
  afterEach(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  const config = (drivers: StowageConfig['drivers']): StowageConfig => ({
    stateDir,
    logLevel: 'silent',
    drivers,
  });

  it('gives create the typed settings, the shared services and its own directory, and multi-injects what it returns', async () => {
    const seen: Array<DriverContext<unknown>> = [];
    const stowage = await composeStowage({
      config: config({ one: { settings: { root: '/srv/one', verbose: 'yes' } }, two: { settings: {} } }),
      drivers: [sizedDriver('one', seen), sizedDriver('two', seen), sizedDriver('unused', seen)],
      logger: silentLogger,
      host,
    });
    await stowage.engine.start();
    try {
      expect(stowage.engine.backings().map((b) => b.name)).toEqual(['one', 'two']);
      expect(seen.map(({ settings, host: h, node, driverDir }) => ({ settings, host: h, node, driverDir }))).toEqual([
        {
          settings: { root: '/srv/one', verbose: true },
          host,
          node: { stateDir },
          driverDir: join(stateDir, 'drivers', 'one'),
        },
        { settings: { verbose: false }, host, node: { stateDir }, driverDir: join(stateDir, 'drivers', 'two') },
      ]);
      // The engine parsed the user's strings against the driver's declaration; the provider got a number.
      expect((await stowage.engine.create('v', { backing: 'two', size: '32' })).options).toEqual({ size: '32' });
      const two = stowage.container.getAll(STORAGE_PROVIDER).find((p) => p.name === 'two') as SizedProvider;
      expect(two.sizes).toEqual([32]);
    } finally {
      await stowage.close();
    }
  });

  it('binds every provider of a driver that returns several', async () => {
    const pair = defineDriver({
      name: 'pair',
      description: 'two backings from one driver',
      create: () => [new MemoryProvider('left'), new MemoryProvider('right')],
    });
    const providers = await driverProviders(pair, { stateDir });
    expect(providers.map((p) => p.name)).toEqual(['left', 'right']);
    // No settings declared is none at all, still an array for the tools that list them.
    expect(pair.settings).toEqual([]);
  });

  it('awaits a create that returns a promise', async () => {
    const later = defineDriver({
      name: 'later',
      description: 'async create',
      create: async () => new MemoryProvider('later'),
    });
    expect((await driverProviders(later, { stateDir })).map((p) => p.name)).toEqual(['later']);
  });

  it('refuses a create that returns no provider, naming the driver', async () => {
    const none = defineDriver({ name: 'none', description: 'nothing', create: () => [] });
    const error = await driverProviders(none, { stateDir }).catch((e: unknown) => e);
    expect(StowageError.is(error, ErrorKind.InvalidArgument)).toBe(true);
    expect((error as Error).message).toBe('driver none: create returned no provider');
  });

  it('validates settings before create, keeping a secret out of the message', async () => {
    const seen: Array<DriverContext<unknown>> = [];
    const error = await driverProviders(sizedDriver('one', seen), {
      stateDir,
      settings: { root: 'rel', password: 'hunter\u0001' },
    }).catch((e: unknown) => e);
    expect(StowageError.is(error, ErrorKind.InvalidArgument)).toBe(true);
    expect((error as Error).message).toMatch(
      /^config: driver one: root: must be an absolute path, got "rel"; password: must not contain control characters/,
    );
    expect((error as Error).message).not.toContain('hunter');
    expect(seen).toEqual([]);
  });

  it('gives the provider a logger bound to its backing', async () => {
    const bindings: unknown[] = [];
    const logger = { ...silentLogger, child: (b: unknown) => (bindings.push(b), silentLogger) } as unknown as Logger;
    await driverProviders(sizedDriver('one', []), { stateDir, logger });
    expect(bindings).toEqual([{ backing: 'one' }]);
  });

  it('checks at compile time that create returns providers of the declared options', () => {
    const OTHER = defineOptions({ colour: { type: 'string', description: 'c', default: 'red' } });
    expect(OTHER.map((spec) => spec.name)).toEqual(['colour']);
    class OtherProvider extends MemoryProvider implements StorageProvider<InferOptions<typeof OTHER>> {
      declare readonly options: typeof OTHER;
    }
    // Never called: the compiler's refusal is the test.
    const wrong = () =>
      defineDriver({
        name: 'wrong',
        description: 'options that do not match',
        options: SIZE_OPTIONS,
        // @ts-expect-error the provider declares other create options than the driver
        create: () => new OtherProvider('wrong'),
      });
    expectTypeOf(wrong).toBeFunction();
  });
});
