import { DescribeImagesCommand, EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import type { MotoServer } from '@stowage/aws-testkit';

export const REGION = 'us-east-1';

/** A real SDK client talking to the test's moto server (at `endpoint`, when a proxy stands in front of it). */
export function motoClient(moto: MotoServer, endpoint = moto.endpoint): EC2Client {
  return new EC2Client({
    region: REGION,
    endpoint,
    credentials: { accessKeyId: moto.env.AWS_ACCESS_KEY_ID ?? 'x', secretAccessKey: moto.env.AWS_SECRET_ACCESS_KEY ?? 'x' },
  });
}

/** Starts an instance in moto (AttachVolume needs a real one) and returns its id. */
export async function runInstance(client: EC2Client, zone: string): Promise<string> {
  const images = await client.send(new DescribeImagesCommand({}));
  const imageId = images.Images?.[0]?.ImageId;
  const result = await client.send(
    new RunInstancesCommand({ ImageId: imageId, MinCount: 1, MaxCount: 1, Placement: { AvailabilityZone: zone } }),
  );
  return result.Instances?.[0]?.InstanceId as string;
}
