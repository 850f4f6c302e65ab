import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MotoServer, startMotoServer } from '../src/moto/index.js';

describe('startMotoServer', () => {
  let moto: MotoServer;
  beforeAll(async () => {
    moto = await startMotoServer();
  }, 60_000);
  afterAll(async () => {
    await moto?.stop();
  });

  it('answers EC2 API calls on loopback and forgets everything on reset', async () => {
    const call = (action: string) =>
      fetch(moto.endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          // moto routes by the service named in the credential scope.
          authorization:
            'AWS4-HMAC-SHA256 Credential=AKIAMOTOTESTING00000/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0',
        },
        body: `Action=${action}&Version=2016-11-15&Size=1&AvailabilityZone=us-east-1a`,
      }).then((r) => r.text());
    expect(moto.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await call('CreateVolume')).toContain('<volumeId>vol-');
    expect((await call('DescribeVolumes')).match(/<volumeId>/g)).toHaveLength(1);
    await moto.reset();
    expect(await call('DescribeVolumes')).not.toContain('<volumeId>');
  });
});
