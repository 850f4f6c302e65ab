import {
  CreateVolumeCommand,
  DeleteVolumeCommand,
  DescribeVolumesCommand,
  EC2Client,
  type CreateVolumeCommandInput,
} from '@aws-sdk/client-ec2';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startClientTokenProxy, startMotoServer, type ClientTokenProxy, type MotoServer } from '../src/moto/index.js';

const credentials = { accessKeyId: 'AKIAMOTOTESTING00000', secretAccessKey: 'moto-testing-secret-key-not-real' };
const VOLUME: CreateVolumeCommandInput = {
  Size: 1,
  AvailabilityZone: 'us-east-1a',
  VolumeType: 'gp3',
  TagSpecifications: [{ ResourceType: 'volume', Tags: [{ Key: 'stowage:volume', Value: 'db' }] }],
};

describe('startClientTokenProxy: EC2 idempotency in front of moto, through the real SDK client', () => {
  let moto: MotoServer;
  let proxy: ClientTokenProxy;
  const clients: EC2Client[] = [];
  /** An EC2 client of the region, through the proxy unless `endpoint` says otherwise. */
  const ec2 = (region = 'us-east-1', endpoint = proxy.endpoint): EC2Client => {
    const client = new EC2Client({ region, endpoint, credentials });
    clients.push(client);
    return client;
  };
  const liveVolumes = async (region = 'us-east-1') =>
    (await ec2(region).send(new DescribeVolumesCommand({}))).Volumes ?? [];

  beforeAll(async () => {
    // Tokens ignored: this suite puts its own proxy in front of bare moto.
    moto = await startMotoServer({ clientTokens: 'ignored' });
    proxy = await startClientTokenProxy(moto.endpoint);
  }, 60_000);
  afterAll(async () => {
    await proxy?.stop();
    await moto?.stop();
  });
  beforeEach(async () => {
    await moto.reset();
    proxy.forget();
  });
  afterEach(() => {
    for (const client of clients.splice(0)) client.destroy();
  });

  it('answers a repeated token with the first volume as it was made, even after that volume is deleted, and makes nothing', async () => {
    const first = await ec2().send(new CreateVolumeCommand({ ...VOLUME, ClientToken: 'token-1' }));
    const again = await ec2().send(new CreateVolumeCommand({ ...VOLUME, ClientToken: 'token-1' }));
    expect(first.VolumeId).toMatch(/^vol-/);
    expect(again).toMatchObject({
      VolumeId: first.VolumeId,
      CreateTime: first.CreateTime,
      State: first.State,
      Size: 1,
      VolumeType: 'gp3',
    });
    expect(again.$metadata.requestId).not.toBe(first.$metadata.requestId);
    expect((await liveVolumes()).map((v) => v.VolumeId)).toEqual([first.VolumeId]);

    await ec2().send(new DeleteVolumeCommand({ VolumeId: first.VolumeId }));
    const afterDelete = await ec2().send(new CreateVolumeCommand({ ...VOLUME, ClientToken: 'token-1' }));
    expect(afterDelete).toMatchObject({ VolumeId: first.VolumeId, CreateTime: first.CreateTime, State: first.State });
    expect(await liveVolumes()).toEqual([]);
    expect(proxy.bound()).toBe(1);
  });

  it('refuses a repeated token with other parameters with IdempotentParameterMismatch, and makes nothing', async () => {
    const first = await ec2().send(new CreateVolumeCommand({ ...VOLUME, ClientToken: 'token-2' }));
    const refused = await ec2()
      .send(new CreateVolumeCommand({ ...VOLUME, Size: 2, ClientToken: 'token-2' }))
      .catch((error: unknown) => error as Error & { $fault?: string; $metadata?: { httpStatusCode?: number } });
    expect(refused).toMatchObject({
      name: 'IdempotentParameterMismatch',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
    });
    expect((refused as Error).message).toMatch(/inconsistent with parameters used in previous request/);
    // Other tags are other parameters too.
    const otherTags = {
      ...VOLUME,
      TagSpecifications: [{ ResourceType: 'volume' as const, Tags: [{ Key: 'stowage:volume', Value: 'web' }] }],
    };
    await expect(ec2().send(new CreateVolumeCommand({ ...otherTags, ClientToken: 'token-2' }))).rejects.toMatchObject({
      name: 'IdempotentParameterMismatch',
    });
    expect((await liveVolumes()).map((v) => v.VolumeId)).toEqual([first.VolumeId]);
  });

  it('does not compare the availability zone, as EC2 documents: the first volume is answered', async () => {
    const first = await ec2().send(new CreateVolumeCommand({ ...VOLUME, ClientToken: 'token-3' }));
    const elsewhere = await ec2().send(
      new CreateVolumeCommand({ ...VOLUME, AvailabilityZone: 'us-east-1b', ClientToken: 'token-3' }),
    );
    expect(elsewhere).toMatchObject({ VolumeId: first.VolumeId, AvailabilityZone: 'us-east-1a' });
    expect(await liveVolumes()).toHaveLength(1);
  });

  it('answers calls with one token at the same time with one volume', async () => {
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => ec2().send(new CreateVolumeCommand({ ...VOLUME, ClientToken: 'token-4' }))),
    );
    expect(new Set(answers.map((a) => a.VolumeId)).size).toBe(1);
    expect(await liveVolumes()).toHaveLength(1);
  });

  it('binds nothing to a call that failed: the token then makes a volume', async () => {
    const failed = await ec2()
      .send(new CreateVolumeCommand({ ...VOLUME, SnapshotId: 'snap-0123456789abcdef0', ClientToken: 'token-5' }))
      .catch((error: unknown) => error as Error);
    expect(failed).toBeInstanceOf(Error);
    expect(proxy.bound()).toBe(0);
    const made = await ec2().send(new CreateVolumeCommand({ ...VOLUME, ClientToken: 'token-5' }));
    expect((await liveVolumes()).map((v) => v.VolumeId)).toEqual([made.VolumeId]);
  });

  it('binds a token per region and leaves calls without a token to moto', async () => {
    const east = await ec2('us-east-1').send(new CreateVolumeCommand({ ...VOLUME, ClientToken: 'token-6' }));
    const west = await ec2('us-west-2').send(
      new CreateVolumeCommand({ ...VOLUME, AvailabilityZone: 'us-west-2a', ClientToken: 'token-6' }),
    );
    expect(west.VolumeId).not.toBe(east.VolumeId);
    expect(await liveVolumes('us-west-2')).toHaveLength(1);

    // The SDK fills in a fresh token of its own when the caller gives none: every such call makes a volume.
    await ec2().send(new CreateVolumeCommand(VOLUME));
    await ec2().send(new CreateVolumeCommand(VOLUME));
    expect(await liveVolumes('us-east-1')).toHaveLength(3);
  });

  it('forgets its tokens when moto is reset through it', async () => {
    const first = await ec2().send(new CreateVolumeCommand({ ...VOLUME, ClientToken: 'token-7' }));
    const reset = await fetch(`${proxy.endpoint}/moto-api/reset`, { method: 'POST' });
    expect(reset.ok).toBe(true);
    expect(proxy.bound()).toBe(0);
    const fresh = await ec2().send(new CreateVolumeCommand({ ...VOLUME, ClientToken: 'token-7' }));
    expect(fresh.VolumeId).not.toBe(first.VolumeId);
  });
});

describe('startMotoServer and ClientTokens', () => {
  let honoured: MotoServer;
  let ignored: MotoServer;
  beforeAll(async () => {
    [honoured, ignored] = await Promise.all([startMotoServer(), startMotoServer({ clientTokens: 'ignored' })]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([honoured?.stop(), ignored?.stop()]);
  });

  async function createTwice(moto: MotoServer): Promise<Array<string | undefined>> {
    const client = new EC2Client({ region: 'us-east-1', endpoint: moto.endpoint, credentials });
    try {
      const first = await client.send(new CreateVolumeCommand({ ...VOLUME, ClientToken: 'same' }));
      const second = await client.send(new CreateVolumeCommand({ ...VOLUME, ClientToken: 'same' }));
      return [first.VolumeId, second.VolumeId];
    } finally {
      client.destroy();
    }
  }

  it('honours tokens by default, through an endpoint of its own in front of moto, and forgets them on reset', async () => {
    expect(honoured.endpoint).not.toBe(honoured.motoEndpoint);
    expect(honoured.env.AWS_ENDPOINT_URL).toBe(honoured.endpoint);
    const [first, second] = await createTwice(honoured);
    expect(second).toBe(first);
    await honoured.reset();
    const [afterReset] = await createTwice(honoured);
    expect(afterReset).not.toBe(first);
  });

  it('leaves tokens to moto when asked to, which makes a volume per call', async () => {
    expect(ignored.endpoint).toBe(ignored.motoEndpoint);
    const [first, second] = await createTwice(ignored);
    expect(second).not.toBe(first);
  });
});
