import { describe, expect, expectTypeOf, it } from 'vitest';
import { ErrorKind, StowageError, driverProviders, parseOptions } from '@stowage/core';
import { expectStowageErrorThrown } from '@stowage/core/testing';
import { TMPFS_OPTIONS, TmpfsProvider, driver, sizeInBytes, type TmpfsOptions } from '../src/index.js';

const parse = (raw: Record<string, string>): TmpfsOptions => parseOptions(TMPFS_OPTIONS, raw, 'backing=tmpfs');
const provider = new TmpfsProvider({ root: '/unused' }, undefined as never, undefined as never);
/** The options as the engine checks them: per option, then the provider's `validate`. */
const accepted = (raw: Record<string, string>): TmpfsOptions => {
  const options = parse(raw);
  provider.validate({ name: 'v', options });
  return options;
};

describe('the tmpfs driver definition', () => {
  it('keeps its records under <stateDir>/drivers/tmpfs unless root is set, and declares ephemeral data', async () => {
    const [made] = await driverProviders(driver, { stateDir: '/var/lib/stowage-test' });
    expect(made).toBeInstanceOf(TmpfsProvider);
    expect(made).toMatchObject({ name: 'tmpfs', scope: 'local', root: '/var/lib/stowage-test/drivers/tmpfs' });
    expect(made?.capabilities).toEqual({ ephemeral: true });
    const [configured] = await driverProviders(driver, { settings: { root: '/srv/tmpfs' }, stateDir: '/unused' });
    expect((configured as TmpfsProvider).root).toBe('/srv/tmpfs');
  });

  it('refuses a relative root at start-up', async () => {
    const error = await driverProviders(driver, { settings: { root: 'vols' }, stateDir: '/x' }).catch(
      (e: unknown) => e,
    );
    expect(StowageError.is(error, ErrorKind.InvalidArgument)).toBe(true);
    expect((error as Error).message).toMatch(/root: must be an absolute path/);
  });
});

describe('tmpfs create options', () => {
  it('types size as a required string and the ownership as tmpfs mount options', () => {
    expectTypeOf<TmpfsOptions>().toEqualTypeOf<{
      readonly size: string;
      readonly mode: string;
      readonly uid?: number;
      readonly gid?: number;
    }>();
    expect(accepted({ size: '64m' })).toEqual({ size: '64m', mode: '1777' });
    expect(accepted({ size: '2g', mode: '750', uid: '1000', gid: '0' })).toEqual({
      size: '2g',
      mode: '0750',
      uid: 1000,
      gid: 0,
    });
  });

  it('records one spelling per size, so 064M and 64m are the same volume', () => {
    expect(parse({ size: '064M' }).size).toBe('64m');
    expect(sizeInBytes('64m')).toBe(64 * 1024 ** 2);
    expect(sizeInBytes('3k')).toBe(3 * 1024);
  });

  it('requires size, with a unit', () => {
    expect(() => parse({})).toThrow(/size: required for backing=tmpfs/);
    for (const size of ['64', '64mb', '1.5g', '-1m', '64 m', 'm', '12345678901k']) {
      expect(() => parse({ size }), size).toThrow(/size: must be a whole number with a k, m or g suffix/);
    }
  });

  it('bounds size from 1m to 1024g, so 0 never reaches the kernel as "unlimited"', () => {
    expect(accepted({ size: '1m' }).size).toBe('1m');
    expect(accepted({ size: '1024k' }).size).toBe('1024k');
    expect(accepted({ size: '1024g' }).size).toBe('1024g');
    for (const size of ['0m', '0k', '1023k', '1025g', '9999999999g']) {
      const error = expectStowageErrorThrown(() => accepted({ size }), ErrorKind.InvalidArgument);
      expect(error.message).toMatch(/size: must be between 1m and 1024g/);
    }
  });
});
