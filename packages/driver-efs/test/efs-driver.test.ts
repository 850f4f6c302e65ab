import { ErrorKind, StowageError, driverProviders } from '@stowage/core';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { EFS_OPTIONS, EfsProvider, driver, type EfsOptions, type EfsSettings } from '../src/index.js';

describe('the efs driver definition', () => {
  it('makes one global EfsProvider, backing efs alias shared, mounting under <stateDir>/drivers/efs/mounts', async () => {
    const providers = await driverProviders(driver, {
      settings: { fileSystemId: 'fs-0123456789abcdef0' },
      stateDir: '/var/lib/stowage',
    });
    expect(providers).toHaveLength(1);
    expect(providers[0]).toBeInstanceOf(EfsProvider);
    expect(providers[0]).toMatchObject({ name: 'efs', aliases: ['shared'], scope: 'global', options: EFS_OPTIONS });
    expect((providers[0] as unknown as { settings: EfsSettings }).settings.mountRoot).toBe(
      '/var/lib/stowage/drivers/efs/mounts',
    );
  });

  it('refuses settings that name no file system, saying which to give', async () => {
    const error = await driverProviders(driver, { stateDir: '/var/lib/stowage' }).catch((e: unknown) => e);
    expect(StowageError.is(error, ErrorKind.InvalidArgument)).toBe(true);
    expect((error as Error).message).toMatch(
      /the file system is not configured; set fileSystemId \(STOWAGE_EFS_FILE_SYSTEM_ID\)/,
    );
  });

  it('infers its settings and create options from their one declaration each', () => {
    expectTypeOf<EfsSettings['accessPoints']>().toEqualTypeOf<boolean>();
    expectTypeOf<EfsSettings['fileSystemId']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<EfsOptions>().toEqualTypeOf<{
      readonly perfmode: 'generalpurpose' | 'maxio';
      readonly mode: string;
      readonly uid?: number;
      readonly gid?: number;
      readonly adopt?: boolean;
    }>();
  });
});
