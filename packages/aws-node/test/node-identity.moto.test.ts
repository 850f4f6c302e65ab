import { startMotoServer, type MotoServer } from '@stowage/testkit/moto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { imdsReader, resolveNodeIdentity } from '../src/index.js';
import { recording } from './support/recording-reader.js';

// moto serves instance metadata at its root: the token PUT and fixed answers for this instance.
const MOTO = { region: 'us-east-1', instanceId: 'i-fake', availabilityZone: 'us-east-1a' };

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
    expect(
      await resolveNodeIdentity({}, ['instanceId', 'availabilityZone', 'region'], { driver: 'ebs', reader }),
    ).toEqual(MOTO);
    expect(asked).toEqual([
      '/latest/meta-data/instance-id',
      '/latest/meta-data/placement/availability-zone',
      '/latest/meta-data/placement/region',
    ]);
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
    const node = await resolveNodeIdentity(
      { region: 'eu-west-1', instanceId: 'i-0abc12345' },
      ['instanceId', 'availabilityZone', 'region'],
      {
        driver: 'ebs',
        reader,
      },
    );
    expect(node).toEqual({ region: 'eu-west-1', instanceId: 'i-0abc12345', availabilityZone: MOTO.availabilityZone });
    expect(asked).toEqual(['/latest/meta-data/placement/availability-zone']);
  });

  it('asks only for the fields needed', async () => {
    const { reader, asked } = recording(imdsReader({ endpoint: moto.endpoint }));
    expect(await resolveNodeIdentity({}, ['availabilityZone'], { driver: 'efs', reader })).toEqual({
      availabilityZone: MOTO.availabilityZone,
    });
    expect(asked).toEqual(['/latest/meta-data/placement/availability-zone']);
  });

  it('treats an empty setting as unset', async () => {
    expect(
      await resolveNodeIdentity({ availabilityZone: '' }, ['availabilityZone'], {
        driver: 'efs',
        endpoint: moto.endpoint,
      }),
    ).toEqual({
      availabilityZone: MOTO.availabilityZone,
    });
  });
});
