import { ErrorKind, StowageError, driverProviders, type CloudCallObservation } from '@stowage/core';
import { afterEach, describe, expect, expectTypeOf, it, vi } from 'vitest';
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

describe("the driver's telemetry", () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it("reports the calls of the EFS client it makes to the composition's telemetry", async () => {
    // Nothing listens on port 9 of loopback: the start-up call fails at once, and is reported all the same.
    vi.stubEnv('AWS_ENDPOINT_URL', 'http://127.0.0.1:9');
    vi.stubEnv('AWS_MAX_ATTEMPTS', '1');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIAFAKE');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'fake');
    const calls: CloudCallObservation[] = [];
    const [provider] = await driverProviders(driver, {
      settings: { fileSystemId: 'fs-0123456789abcdef0', region: 'us-east-1', availabilityZone: 'us-east-1a' },
      stateDir: '/var/lib/stowage',
      telemetry: { cloudCall: (call) => calls.push(call), journalWrite: () => undefined },
    });
    await expect(provider?.init?.()).rejects.toThrow();
    expect(calls).toMatchObject([{ service: 'efs', action: 'DescribeFileSystems', outcome: 'error', attempts: 1 }]);
  });
});
