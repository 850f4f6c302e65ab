import { Container } from 'inversify';
import { describe, expect, it } from 'vitest';
import {
  ErrorKind,
  HOST_OPERATIONS,
  LOGGER,
  NODE_CONTEXT,
  STORAGE_PROVIDER,
  StowageError,
  SystemHostOperations,
  createLogger,
  parseOptions,
} from '@stowage/core';
import { LOOPFS_OPTIONS, LoopfsProvider, driver } from '../src/index.js';

function containerWith(stateDir: string): Container {
  const container = new Container();
  const logger = createLogger({ level: 'silent' });
  container.bind(LOGGER).toConstantValue(logger);
  container.bind(HOST_OPERATIONS).toConstantValue(new SystemHostOperations({ logger }));
  container.bind(NODE_CONTEXT).toConstantValue({ stateDir });
  return container;
}

describe('the loopfs driver definition', () => {
  it('keeps its images under <stateDir>/drivers/loopfs unless root is set', async () => {
    const container = containerWith('/var/lib/stowage-test');
    await container.load(driver.module(parseOptions(driver.settings, {}, 'driver loopfs')));
    const provider = container.get(STORAGE_PROVIDER) as LoopfsProvider;
    expect(provider).toBeInstanceOf(LoopfsProvider);
    expect(provider).toMatchObject({ name: 'loopfs', scope: 'local', root: '/var/lib/stowage-test/drivers/loopfs' });
  });

  it('binds one provider over the configured root under STORAGE_PROVIDER', async () => {
    const container = containerWith('/unused');
    await container.load(driver.module(parseOptions(driver.settings, { root: '/srv/loopfs' }, 'driver loopfs')));
    expect(container.getAll(STORAGE_PROVIDER)).toHaveLength(1);
    expect((container.get(STORAGE_PROVIDER) as LoopfsProvider).root).toBe('/srv/loopfs');
  });

  it('refuses a relative root at start-up', () => {
    let error: unknown;
    try {
      parseOptions(driver.settings, { root: 'images' }, 'driver loopfs');
    } catch (e) {
      error = e;
    }
    expect(StowageError.is(error, ErrorKind.InvalidArgument)).toBe(true);
    expect((error as Error).message).toMatch(/root: must be an absolute path/);
  });

  it('gives size a default of 1024 MiB and bounds of 16 MiB to 16 TiB', () => {
    expect(parseOptions(LOOPFS_OPTIONS, {}, 'backing=loopfs')).toEqual({ size: 1024 });
    expect(parseOptions(LOOPFS_OPTIONS, { size: '16' }, 'backing=loopfs')).toEqual({ size: 16 });
    expect(() => parseOptions(LOOPFS_OPTIONS, { size: '15' }, 'backing=loopfs')).toThrow(/size: must be between 16 and 16777216/);
    expect(() => parseOptions(LOOPFS_OPTIONS, { size: '16777217' }, 'backing=loopfs')).toThrow(/size: must be between/);
  });
});
