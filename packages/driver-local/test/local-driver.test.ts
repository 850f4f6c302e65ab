import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, expectTypeOf, it } from 'vitest';
import { ErrorKind, StowageError, driverProviders, parseOptions } from '@stowage/core';
import { LOCAL_OPTIONS, LocalProvider, driver, type LocalOptions, type LocalSettings } from '../src/index.js';

let base: string;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'stowage-local-driver-'));
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('the local driver definition', () => {
  it('defaults root to /var/lib/stowage/volumes', () => {
    expect(parseOptions(driver.settings, {}, 'driver local')).toEqual({ root: '/var/lib/stowage/volumes' });
  });

  it('records 755 and 0755 as one mode, so a repeated create spelled either way is no conflict', () => {
    expect(parseOptions(LOCAL_OPTIONS, { mode: '755' }, 'backing=local')).toEqual({ mode: '0755' });
    expect(parseOptions(LOCAL_OPTIONS, { mode: '1777' }, 'backing=local')).toEqual({ mode: '1777' });
  });

  it('refuses a relative root at start-up', () => {
    let error: unknown;
    try {
      parseOptions(driver.settings, { root: 'volumes' }, 'driver local');
    } catch (e) {
      error = e;
    }
    expect(StowageError.is(error, ErrorKind.InvalidArgument)).toBe(true);
    expect((error as Error).message).toMatch(/root: must be an absolute path/);
  });

  it('makes one LocalProvider over the configured root', async () => {
    const providers = await driverProviders(driver, { settings: { root: join(base, 'vols') }, stateDir: base });
    expect(providers).toHaveLength(1);
    const provider = providers[0] as LocalProvider;
    expect(provider).toBeInstanceOf(LocalProvider);
    expect(provider).toMatchObject({ name: 'local', scope: 'local', root: join(base, 'vols') });
    expect(provider.options.map((o) => o.name)).toEqual(['uid', 'gid', 'mode']);
    expect(driver.options).toBe(LOCAL_OPTIONS);
  });

  it('infers its settings and options types from their declarations', () => {
    expectTypeOf<LocalSettings>().toEqualTypeOf<{ readonly root: string }>();
    expectTypeOf<LocalOptions>().toEqualTypeOf<{
      readonly mode: string;
      readonly uid?: number;
      readonly gid?: number;
    }>();
  });
});
