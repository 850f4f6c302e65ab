import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  actionOf,
  freePort,
  startCountingProxy,
  startMotoServer,
  type CountingProxy,
  type MotoServer,
} from '../src/moto/index.js';

const SIGNED = {
  'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
  // moto routes by the service named in the credential scope; the proxy counts by it too.
  authorization:
    'AWS4-HMAC-SHA256 Credential=AKIAMOTOTESTING00000/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0',
};

async function ec2(endpoint: string, body: string): Promise<{ status: number; text: string }> {
  const response = await fetch(endpoint, { method: 'POST', headers: SIGNED, body: `${body}&Version=2016-11-15` });
  return { status: response.status, text: await response.text() };
}

describe('startCountingProxy', () => {
  let moto: MotoServer;
  let proxy: CountingProxy;
  beforeAll(async () => {
    moto = await startMotoServer();
    proxy = await startCountingProxy(moto.endpoint);
  }, 60_000);
  afterAll(async () => {
    await proxy?.stop();
    await moto?.stop();
  });
  beforeEach(async () => {
    await moto.reset();
    proxy.reset();
  });

  it('counts EC2 calls by action and passes answers through unchanged', async () => {
    const created = await ec2(proxy.endpoint, 'Action=CreateVolume&Size=1&AvailabilityZone=us-east-1a');
    await ec2(proxy.endpoint, 'Action=CreateVolume&Size=2&AvailabilityZone=us-east-1a');
    const viaProxy = await ec2(proxy.endpoint, 'Action=DescribeVolumes');
    const direct = await ec2(moto.endpoint, 'Action=DescribeVolumes');

    expect(created.text).toContain('<volumeId>vol-');
    expect(viaProxy.status).toBe(200);
    // The request id moto puts in each answer differs; everything else is moto's answer, byte for byte.
    const withoutRequestId = (xml: string) => xml.replace(/<requestId>[^<]*<\/requestId>/, '');
    expect(withoutRequestId(viaProxy.text)).toBe(withoutRequestId(direct.text));
    expect(viaProxy.text.match(/<volumeId>/g)).toHaveLength(2);
    // The direct call went around the proxy and is not counted.
    expect(proxy.counts()).toEqual({ 'ec2:CreateVolume': 2, 'ec2:DescribeVolumes': 1 });
    expect(proxy.total()).toBe(3);
  });

  it('counts the calls of one action by what each looked up: filter names, id lists, or everything', async () => {
    await ec2(
      proxy.endpoint,
      'Action=DescribeVolumes&Filter.1.Name=tag%3AStackID&Filter.1.Value.1=s&Filter.2.Name=tag%3Astowage%3Avolume&Filter.2.Value.1=v',
    );
    await ec2(proxy.endpoint, 'Action=DescribeVolumes&Filter.1.Name=volume-id&Filter.1.Value.1=vol-1');
    await ec2(proxy.endpoint, 'Action=DescribeVolumes&Filter.1.Name=volume-id&Filter.1.Value.1=vol-2');
    await ec2(proxy.endpoint, 'Action=DescribeVolumes&VolumeId.1=vol-0123456789abcdef0');
    await ec2(proxy.endpoint, 'Action=DescribeVolumes');
    await ec2(proxy.endpoint, 'Action=DescribeInstances');
    expect(proxy.lookups('ec2:DescribeVolumes')).toEqual({
      '(all)': 1,
      'tag:StackID+tag:stowage:volume': 1,
      VolumeId: 1,
      'volume-id': 2,
    });
    expect(proxy.lookups('ec2:DescribeInstances')).toEqual({ '(all)': 1 });
    expect(proxy.lookups('ec2:CreateVolume')).toEqual({});
    proxy.reset();
    expect(proxy.lookups('ec2:DescribeVolumes')).toEqual({});
  });

  it('passes moto errors through with their status, and forgets its counts on reset', async () => {
    const missing = await ec2(proxy.endpoint, 'Action=DescribeVolumes&VolumeId.1=vol-0123456789abcdef0');
    expect(missing.status).toBe(400);
    expect(missing.text).toContain('InvalidVolume.NotFound');
    expect(proxy.counts()).toEqual({ 'ec2:DescribeVolumes': 1 });
    proxy.reset();
    expect(proxy.counts()).toEqual({});
    expect(proxy.total()).toBe(0);
  });

  it('answers 502 when nothing listens behind it, and still counts the attempt', async () => {
    const orphan = await startCountingProxy(`http://127.0.0.1:${await freePort()}`);
    try {
      const answer = await ec2(orphan.endpoint, 'Action=DescribeVolumes');
      expect(answer.status).toBe(502);
      expect(answer.text).toContain('moto did not answer');
      expect(orphan.counts()).toEqual({ 'ec2:DescribeVolumes': 1 });
    } finally {
      await orphan.stop();
    }
  });
});

describe('actionOf', () => {
  const efs = {
    authorization:
      'AWS4-HMAC-SHA256 Credential=AKIA/20260101/us-east-1/elasticfilesystem/aws4_request, SignedHeaders=host, Signature=0',
  };
  it('names REST calls by method and path, with resource ids folded', () => {
    expect(actionOf('GET', '/2015-02-01/file-systems/fs-0123abcd?MaxItems=10', efs, Buffer.alloc(0))).toBe(
      'elasticfilesystem:GET /2015-02-01/file-systems/{id}',
    );
    expect(actionOf('POST', '/2015-02-01/access-points', efs, Buffer.from('{}'))).toBe(
      'elasticfilesystem:POST /2015-02-01/access-points',
    );
    expect(actionOf('DELETE', '/2015-02-01/access-points/fsap-0123456789abcdef0', efs, Buffer.alloc(0))).toBe(
      'elasticfilesystem:DELETE /2015-02-01/access-points/{id}',
    );
  });
  it('names query calls by Action and JSON calls by their target', () => {
    expect(actionOf('GET', '/?Action=DescribeInstances&Version=2016-11-15', SIGNED, Buffer.alloc(0))).toBe(
      'ec2:DescribeInstances',
    );
    expect(actionOf('POST', '/', { 'x-amz-target': 'AmazonSSM.GetParameter' }, Buffer.from('{}'))).toBe(
      'unsigned:GetParameter',
    );
  });
});
