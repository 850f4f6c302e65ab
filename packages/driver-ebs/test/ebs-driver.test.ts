import {
  ErrorKind,
  StowageError,
  SystemHostOperations,
  createLogger,
  driverProviders,
  parseOptions,
  type CloudCallObservation,
} from '@stowage/core';
import { afterEach, describe, expect, expectTypeOf, it, vi } from 'vitest';
import { EbsProvider, driver, type EbsOptions, type EbsSettings } from '../src/index.js';

describe('the ebs driver definition', () => {
  it('makes one global EbsProvider, backing ebs alias relocatable', async () => {
    const providers = await driverProviders(driver, { settings: { clusterId: 'c' }, stateDir: '/var/lib/stowage' });
    expect(providers).toHaveLength(1);
    expect(providers[0]).toBeInstanceOf(EbsProvider);
    expect(providers[0]).toMatchObject({ name: 'ebs', aliases: ['relocatable'], scope: 'global' });
    expect(providers[0]?.options.map((o) => o.name)).toEqual([
      'size',
      'ebstype',
      'iops',
      'throughput',
      'encrypted',
      'kmskeyid',
      'snapshot',
      'fstype',
    ]);
  });

  it('infers its settings and create options from their one declaration each', () => {
    expectTypeOf<EbsSettings['clusterId']>().toEqualTypeOf<string>();
    expectTypeOf<EbsSettings['region']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<EbsSettings['takeover']>().toEqualTypeOf<'never' | 'stopped' | 'force'>();
    expectTypeOf<EbsSettings['fsType']>().toEqualTypeOf<'ext4' | 'xfs'>();
    expectTypeOf<EbsSettings['attachLimit']>().toEqualTypeOf<number>();
    expectTypeOf<EbsOptions['size']>().toEqualTypeOf<number>();
    expectTypeOf<EbsOptions['ebstype']>().toEqualTypeOf<'gp2' | 'gp3' | 'io1' | 'io2' | 'st1' | 'sc1' | 'standard'>();
    expectTypeOf<EbsOptions['iops']>().toEqualTypeOf<number | undefined>();
    expectTypeOf(parseOptions(driver.settings, { clusterId: 'c' }, 'driver ebs')).toEqualTypeOf<EbsSettings>();
  });
});

describe('the node identity at start-up', () => {
  it('asks instance metadata only for what settings leave unset, and says which setting to give when it does not answer', async () => {
    const asked: string[] = [];
    const provider = new EbsProvider(
      parseOptions(
        driver.settings,
        { clusterId: 'c', region: 'eu-west-1', availabilityZone: 'eu-west-1b' },
        'driver ebs',
      ),
      {
        host: new SystemHostOperations(),
        logger: createLogger({ level: 'silent' }),
        stateDir: '/var/lib/stowage',
        metadata: () => async (path) => {
          asked.push(path);
          throw new Error('connect ECONNREFUSED 169.254.169.254:80');
        },
      },
    );
    const error = await provider.init().catch((e: unknown) => e);
    expect(StowageError.is(error, ErrorKind.BackendFailure)).toBe(true);
    expect((error as Error).message).toMatch(
      /instance id .*ECONNREFUSED.*set the ebs driver's instanceId setting \(STOWAGE_EBS_INSTANCE_ID\)/,
    );
    expect(asked).toEqual(['/latest/meta-data/instance-id']);
  });
});

describe("the driver's telemetry", () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it("reports the calls of the EC2 client it makes to the composition's telemetry", async () => {
    // Nothing listens on port 9 of loopback: the start-up call fails at once, and is reported all the same.
    vi.stubEnv('AWS_ENDPOINT_URL', 'http://127.0.0.1:9');
    vi.stubEnv('AWS_MAX_ATTEMPTS', '1');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIAFAKE');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'fake');
    const calls: CloudCallObservation[] = [];
    const [provider] = await driverProviders(driver, {
      settings: {
        clusterId: 'c',
        region: 'us-east-1',
        instanceId: 'i-0123456789abcdef0',
        availabilityZone: 'us-east-1a',
      },
      stateDir: '/var/lib/stowage',
      telemetry: { cloudCall: (call) => calls.push(call), journalWrite: () => undefined },
    });
    await expect(provider?.init?.()).rejects.toThrow(/cannot list the volumes attached to i-0123456789abcdef0/);
    expect(calls).toMatchObject([{ service: 'ec2', action: 'DescribeVolumes', outcome: 'error', attempts: 1 }]);
  });
});
