import { describe, expect, expectTypeOf, it } from 'vitest';
import { ErrorKind, StowageError, driverProviders, parseOptions } from '@stowage/core';
import { LOOPFS_OPTIONS, LoopfsProvider, driver, type LoopfsOptions } from '../src/index.js';

describe('the loopfs driver definition', () => {
  it('keeps its images under <stateDir>/drivers/loopfs unless root is set', async () => {
    const [provider] = await driverProviders(driver, { stateDir: '/var/lib/stowage-test' });
    expect(provider).toBeInstanceOf(LoopfsProvider);
    expect(provider).toMatchObject({ name: 'loopfs', scope: 'local', root: '/var/lib/stowage-test/drivers/loopfs' });
  });

  it('makes one provider over the configured root', async () => {
    const providers = await driverProviders(driver, { settings: { root: '/srv/loopfs' }, stateDir: '/unused' });
    expect(providers).toHaveLength(1);
    expect((providers[0] as LoopfsProvider).root).toBe('/srv/loopfs');
  });

  it('refuses a relative root at start-up', async () => {
    const error = await driverProviders(driver, { settings: { root: 'images' }, stateDir: '/unused' }).catch(
      (e: unknown) => e,
    );
    expect(StowageError.is(error, ErrorKind.InvalidArgument)).toBe(true);
    expect((error as Error).message).toMatch(/root: must be an absolute path/);
  });

  it('gives size a default of 1024 MiB and bounds of 16 MiB to 16 TiB, typed as a number', () => {
    expectTypeOf<LoopfsOptions>().toEqualTypeOf<{ readonly size: number }>();
    expect(parseOptions(LOOPFS_OPTIONS, {}, 'backing=loopfs')).toEqual({ size: 1024 });
    expect(parseOptions(LOOPFS_OPTIONS, { size: '16' }, 'backing=loopfs')).toEqual({ size: 16 });
    expect(() => parseOptions(LOOPFS_OPTIONS, { size: '15' }, 'backing=loopfs')).toThrow(
      /size: must be between 16 and 16777216/,
    );
    expect(() => parseOptions(LOOPFS_OPTIONS, { size: '16777217' }, 'backing=loopfs')).toThrow(/size: must be between/);
  });
});
