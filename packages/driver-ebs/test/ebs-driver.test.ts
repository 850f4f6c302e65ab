import { Container } from 'inversify';
import { ErrorKind, HOST_OPERATIONS, LOGGER, NODE_CONTEXT, STORAGE_PROVIDER, StowageError, SystemHostOperations, createLogger, parseOptions } from '@stowage/core';
import { describe, expect, it } from 'vitest';
import { EbsProvider, driver, type EbsSettings } from '../src/index.js';

describe('the ebs driver definition', () => {
  it('binds one global EbsProvider, backing ebs alias relocatable, under STORAGE_PROVIDER', async () => {
    const container = new Container();
    container.bind(LOGGER).toConstantValue(createLogger({ level: 'silent' }));
    container.bind(HOST_OPERATIONS).toConstantValue(new SystemHostOperations());
    container.bind(NODE_CONTEXT).toConstantValue({ stateDir: '/var/lib/stowage' });
    await container.load(driver.module(parseOptions(driver.settings, { clusterId: 'c' }, 'driver ebs') as EbsSettings));
    const providers = container.getAll(STORAGE_PROVIDER);
    expect(providers).toHaveLength(1);
    expect(providers[0]).toBeInstanceOf(EbsProvider);
    expect(providers[0]).toMatchObject({ name: 'ebs', aliases: ['relocatable'], scope: 'global' });
    expect(providers[0]?.options.map((o) => o.name)).toEqual(['size', 'ebstype', 'iops', 'throughput', 'encrypted', 'kmskeyid', 'snapshot', 'fstype']);
  });
});

describe('the node identity at start-up', () => {
  it('asks instance metadata only for what settings leave unset, and says which setting to give when it does not answer', async () => {
    const asked: string[] = [];
    const provider = new EbsProvider(parseOptions(driver.settings, { clusterId: 'c', region: 'eu-west-1', availabilityZone: 'eu-west-1b' }, 'driver ebs') as EbsSettings, {
      host: new SystemHostOperations(),
      logger: createLogger({ level: 'silent' }),
      stateDir: '/var/lib/stowage',
      metadata: () => async (path) => {
        asked.push(path);
        throw new Error('connect ECONNREFUSED 169.254.169.254:80');
      },
    });
    const error = await provider.init().catch((e: unknown) => e);
    expect(StowageError.is(error, ErrorKind.BackendFailure)).toBe(true);
    expect((error as Error).message).toMatch(/instance id .*ECONNREFUSED.*set the ebs driver's instanceId setting \(STOWAGE_EBS_INSTANCE_ID\)/);
    expect(asked).toEqual(['/latest/meta-data/instance-id']);
  });
});
