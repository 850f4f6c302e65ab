import { MetadataService } from '@aws-sdk/ec2-metadata-service';
import { StowageError } from '@stowage/core';

/** Where this node is in EC2. */
export interface NodeIdentity {
  readonly region: string;
  readonly instanceId: string;
  readonly availabilityZone: string;
}

/** Reads one instance metadata path; the default is IMDSv2 through `@aws-sdk/ec2-metadata-service`. */
export type MetadataReader = (path: string) => Promise<string>;

export function imdsReader(): MetadataReader {
  // The service fetches an IMDSv2 session token first and retries with backoff; it honours the standard
  // AWS_EC2_METADATA_SERVICE_ENDPOINT settings, so it can be pointed at a stand-in.
  const service = new MetadataService({});
  return (path) => service.request(path, {});
}

/**
 * This node's region, instance id and zone: from settings where given (tests, non-EC2 hosts with a stand-in API),
 * the rest from instance metadata. Asked once at start-up; a node does not change instance or zone while running.
 */
export async function resolveNodeIdentity(
  given: Partial<NodeIdentity>,
  read: () => MetadataReader = imdsReader,
): Promise<NodeIdentity> {
  if (given.region && given.instanceId && given.availabilityZone) {
    return { region: given.region, instanceId: given.instanceId, availabilityZone: given.availabilityZone };
  }
  const reader = read();
  const fetch = async (path: string, what: string): Promise<string> => {
    try {
      const value = (await reader(path)).trim();
      if (value === '') throw new Error('empty answer');
      return value;
    } catch (error) {
      throw StowageError.backendFailure(
        `cannot read this node's ${what} from the EC2 instance metadata service (${(error as Error).message}); ` +
          `set the ebs driver's ${what === 'zone' ? 'availabilityZone' : what === 'instance id' ? 'instanceId' : 'region'} setting when not on EC2`,
        error,
      );
    }
  };
  const instanceId = given.instanceId ?? (await fetch('/latest/meta-data/instance-id', 'instance id'));
  const availabilityZone = given.availabilityZone ?? (await fetch('/latest/meta-data/placement/availability-zone', 'zone'));
  const region = given.region ?? (await fetch('/latest/meta-data/placement/region', 'region'));
  return { region, instanceId, availabilityZone };
}
