import { freePort, startMotoServer, type MotoServer } from '@stowage/testkit/moto';
import { ErrorKind, StowageError } from '@stowage/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { imdsReader, resolveNodeIdentity, type MetadataReader } from '../src/index.js';

// moto serves instance metadata at its root: the token PUT and fixed answers for this instance.
const MOTO = { region: 'us-east-1', instanceId: 'i-fake', availabilityZone: 'us-east-1a' };

/** A reader that records the paths asked, on top of another. */
function recording(inner: MetadataReader): { reader: MetadataReader; asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    reader: (path) => {
      asked.push(path);
      return inner(path);
    },
  };
}


describe('resolveNodeIdentity against IMDSv2 (moto, through the SDK MetadataService)', () => {
  let moto: MotoServer;
  beforeAll(async () => {
    moto = await startMotoServer();
  });
  afterAll(async () => {
    await moto?.stop();
  });

  it('reads every needed field from instance metadata when no setting gives it', async () => {
    const { reader, asked } = recording(imdsReader({ endpoint: moto.endpoint }));
    expect(await resolveNodeIdentity({}, ['instanceId', 'availabilityZone', 'region'], { driver: 'ebs', reader })).toEqual(MOTO);
    expect(asked).toEqual(['/latest/meta-data/instance-id', '/latest/meta-data/placement/availability-zone', '/latest/meta-data/placement/region']);
  });

  it('takes the endpoint from the endpoint option', async () => {
    expect(await resolveNodeIdentity({}, ['availabilityZone'], { driver: 'efs', endpoint: moto.endpoint })).toEqual({
      availabilityZone: MOTO.availabilityZone,
    });
  });

  it("takes the endpoint from the SDK's standard AWS_EC2_METADATA_SERVICE_ENDPOINT setting", async () => {
    vi.stubEnv('AWS_EC2_METADATA_SERVICE_ENDPOINT', moto.endpoint);
    try {
      expect(await resolveNodeIdentity({}, ['region'], { driver: 'ebs' })).toEqual({ region: MOTO.region });
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('lets settings win and reads metadata only for the needed fields they leave unset', async () => {
    const { reader, asked } = recording(imdsReader({ endpoint: moto.endpoint }));
    const node = await resolveNodeIdentity({ region: 'eu-west-1', instanceId: 'i-0abc12345' }, ['instanceId', 'availabilityZone', 'region'], {
      driver: 'ebs',
      reader,
    });
    expect(node).toEqual({ region: 'eu-west-1', instanceId: 'i-0abc12345', availabilityZone: MOTO.availabilityZone });
    expect(asked).toEqual(['/latest/meta-data/placement/availability-zone']);
  });

  it('asks only for the fields needed', async () => {
    const { reader, asked } = recording(imdsReader({ endpoint: moto.endpoint }));
    expect(await resolveNodeIdentity({}, ['availabilityZone'], { driver: 'efs', reader })).toEqual({ availabilityZone: MOTO.availabilityZone });
    expect(asked).toEqual(['/latest/meta-data/placement/availability-zone']);
  });

  it('treats an empty setting as unset', async () => {
    expect(await resolveNodeIdentity({ availabilityZone: '' }, ['availabilityZone'], { driver: 'efs', endpoint: moto.endpoint })).toEqual({
      availabilityZone: MOTO.availabilityZone,
    });
  });
});

describe('resolveNodeIdentity when instance metadata does not answer', () => {
  it('makes no metadata call when the settings give every needed field', async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const { reader, asked } = recording(imdsReader({ endpoint }));
    const node = await resolveNodeIdentity({ region: 'r', instanceId: 'i', availabilityZone: 'z' }, ['instanceId', 'availabilityZone', 'region'], {
      driver: 'ebs',
      reader,
    });
    expect(node).toEqual({ region: 'r', instanceId: 'i', availabilityZone: 'z' });
    expect(asked).toEqual([]);
  });

  it('says which setting and environment variable to give, as a BackendFailure', async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const error = await resolveNodeIdentity({}, ['availabilityZone'], { driver: 'efs', endpoint }).catch((e: unknown) => e);
    expect(StowageError.is(error, ErrorKind.BackendFailure)).toBe(true);
    expect((error as Error).message).toMatch(
      /^cannot read this node's availability zone from the EC2 instance metadata service \(.*ECONNREFUSED.*\); set the efs driver's availabilityZone setting \(STOWAGE_EFS_AVAILABILITY_ZONE\) when not on EC2$/,
    );
  });

  it('names the first needed field that cannot be read', async () => {
    const reader: MetadataReader = async () => {
      throw new Error('connect ECONNREFUSED 169.254.169.254:80');
    };
    const error = await resolveNodeIdentity({ region: 'r', availabilityZone: 'z' }, ['instanceId', 'availabilityZone', 'region'], {
      driver: 'ebs',
      reader,
    }).catch((e: unknown) => e);
    expect(StowageError.is(error, ErrorKind.BackendFailure)).toBe(true);
    expect((error as Error).message).toMatch(/instance id .*ECONNREFUSED.*set the ebs driver's instanceId setting \(STOWAGE_EBS_INSTANCE_ID\)/);
  });

  it('refuses an empty answer', async () => {
    const error = await resolveNodeIdentity({}, ['region'], { driver: 'ebs', reader: async () => ' \n' }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/region .*\(empty answer\).*STOWAGE_EBS_REGION/);
  });
});
