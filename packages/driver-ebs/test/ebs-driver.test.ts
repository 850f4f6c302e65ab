import { Container } from 'inversify';
import { ErrorKind, HOST_OPERATIONS, LOGGER, NODE_CONTEXT, STORAGE_PROVIDER, StowageError, SystemHostOperations, createLogger, parseOptions } from '@stowage/core';
import { describe, expect, it } from 'vitest';
import { EbsProvider, driver, resolveNodeIdentity, type EbsSettings } from '../src/index.js';

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

describe('resolveNodeIdentity', () => {
  it('asks instance metadata only for what settings leave unset', async () => {
    const asked: string[] = [];
    const reader = () => async (path: string) => {
      asked.push(path);
      return { '/latest/meta-data/instance-id': 'i-0abc12345', '/latest/meta-data/placement/region': 'eu-west-1' }[path] ?? '';
    };
    expect(await resolveNodeIdentity({ availabilityZone: 'eu-west-1b' }, reader)).toEqual({
      region: 'eu-west-1',
      instanceId: 'i-0abc12345',
      availabilityZone: 'eu-west-1b',
    });
    expect(asked).toEqual(['/latest/meta-data/instance-id', '/latest/meta-data/placement/region']);
  });

  it('never asks when all three are set', async () => {
    const reader = () => {
      throw new Error('no metadata here');
    };
    expect(await resolveNodeIdentity({ region: 'r', instanceId: 'i', availabilityZone: 'z' }, reader)).toEqual({ region: 'r', instanceId: 'i', availabilityZone: 'z' });
  });

  it('says which setting to give when metadata does not answer', async () => {
    const reader = () => async () => {
      throw new Error('connect ECONNREFUSED 169.254.169.254:80');
    };
    const error = await resolveNodeIdentity({ region: 'r', availabilityZone: 'z' }, reader).catch((e: unknown) => e);
    expect(StowageError.is(error, ErrorKind.BackendFailure)).toBe(true);
    expect((error as Error).message).toMatch(/instance id .*ECONNREFUSED.*set the ebs driver's instanceId setting/);
  });
});
