import { DescribeImagesCommand, EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { EFSClient } from '@aws-sdk/client-efs';
import type { MotoServer } from './moto-server.js';

/** The region every test's moto server plays. */
export const MOTO_REGION = 'us-east-1';

/** Client settings for the test's moto server (at `endpoint`, when a proxy stands in front of it). */
export function motoClientConfig(moto: MotoServer, endpoint = moto.endpoint) {
  return {
    region: MOTO_REGION,
    endpoint,
    credentials: {
      accessKeyId: moto.env.AWS_ACCESS_KEY_ID ?? 'x',
      secretAccessKey: moto.env.AWS_SECRET_ACCESS_KEY ?? 'x',
    },
  };
}

/** A real SDK client talking to the test's moto server (at `endpoint`, when a proxy stands in front of it). */
export function motoEc2Client(moto: MotoServer, endpoint = moto.endpoint): EC2Client {
  return new EC2Client(motoClientConfig(moto, endpoint));
}

/** A real EFS client talking to the test's moto server. */
export function motoEfsClient(moto: MotoServer, endpoint = moto.endpoint): EFSClient {
  return new EFSClient(motoClientConfig(moto, endpoint));
}

/**
 * The image instances are started from, by client: moto lists its 1,000-odd stock images in seconds, and they stay
 * the same across resets, so one listing serves every instance a test file starts.
 */
const imageOf = new WeakMap<EC2Client, Promise<string | undefined>>();

/** Starts an instance in moto (AttachVolume needs a real one) and returns its id. */
export async function runInstance(client: EC2Client, zone: string): Promise<string> {
  let image = imageOf.get(client);
  if (image === undefined) {
    image = client.send(new DescribeImagesCommand({})).then((images) => images.Images?.[0]?.ImageId);
    imageOf.set(client, image);
    image.catch(() => imageOf.delete(client));
  }
  const result = await client.send(
    new RunInstancesCommand({ ImageId: await image, MinCount: 1, MaxCount: 1, Placement: { AvailabilityZone: zone } }),
  );
  return result.Instances?.[0]?.InstanceId as string;
}
