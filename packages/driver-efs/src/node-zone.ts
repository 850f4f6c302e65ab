import { MetadataService } from '@aws-sdk/ec2-metadata-service';
import { StowageError } from '@stowage/core';

/**
 * This node's availability zone: the `availabilityZone` setting, or instance metadata (IMDSv2, a session token
 * first) when it is unset. Off EC2 the metadata service does not answer; the message says which setting to give.
 */
export async function resolveNodeZone(configured: string | undefined): Promise<string> {
  if (configured !== undefined) return configured;
  try {
    const metadata = new MetadataService({ httpOptions: { timeout: 2_000 }, ec2MetadataV1Disabled: true });
    const zone = (await metadata.request('/latest/meta-data/placement/availability-zone', {})).trim();
    if (zone !== '') return zone;
  } catch (error) {
    throw StowageError.backendFailure(
      `cannot learn this node's availability zone from EC2 instance metadata (${(error as Error).message}); ` +
        'set availabilityZone (STOWAGE_EFS_AVAILABILITY_ZONE)',
      error,
    );
  }
  throw StowageError.backendFailure('EC2 instance metadata gave an empty availability zone; set availabilityZone (STOWAGE_EFS_AVAILABILITY_ZONE)');
}
