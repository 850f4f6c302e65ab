import { freePort } from '@stowage/testkit/moto';
import { ErrorKind, StowageError } from '@stowage/core';
import { describe, expect, it } from 'vitest';
import { imdsReader, resolveNodeIdentity, type MetadataReader } from '../src/index.js';
import { recording } from './support/recording-reader.js';

describe('resolveNodeIdentity when instance metadata does not answer', () => {
  it('makes no metadata call when the settings give every needed field', async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const { reader, asked } = recording(imdsReader({ endpoint }));
    const node = await resolveNodeIdentity(
      { region: 'r', instanceId: 'i', availabilityZone: 'z' },
      ['instanceId', 'availabilityZone', 'region'],
      {
        driver: 'ebs',
        reader,
      },
    );
    expect(node).toEqual({ region: 'r', instanceId: 'i', availabilityZone: 'z' });
    expect(asked).toEqual([]);
  });

  it('says which setting and environment variable to give, as a BackendFailure', async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const error = await resolveNodeIdentity({}, ['availabilityZone'], { driver: 'efs', endpoint }).catch(
      (e: unknown) => e,
    );
    expect(StowageError.is(error, ErrorKind.BackendFailure)).toBe(true);
    expect((error as Error).message).toMatch(
      /^cannot read this node's availability zone from the EC2 instance metadata service \(.*ECONNREFUSED.*\); set the efs driver's availabilityZone setting \(STOWAGE_EFS_AVAILABILITY_ZONE\) when not on EC2$/,
    );
  });

  it('names the first needed field that cannot be read', async () => {
    const reader: MetadataReader = async () => {
      throw new Error('connect ECONNREFUSED 169.254.169.254:80');
    };
    const error = await resolveNodeIdentity(
      { region: 'r', availabilityZone: 'z' },
      ['instanceId', 'availabilityZone', 'region'],
      {
        driver: 'ebs',
        reader,
      },
    ).catch((e: unknown) => e);
    expect(StowageError.is(error, ErrorKind.BackendFailure)).toBe(true);
    expect((error as Error).message).toMatch(
      /instance id .*ECONNREFUSED.*set the ebs driver's instanceId setting \(STOWAGE_EBS_INSTANCE_ID\)/,
    );
  });

  it('refuses an empty answer', async () => {
    const error = await resolveNodeIdentity({}, ['region'], { driver: 'ebs', reader: async () => ' \n' }).catch(
      (e: unknown) => e,
    );
    expect((error as Error).message).toMatch(/region .*\(empty answer\).*STOWAGE_EBS_REGION/);
  });
});
