import { MetadataService } from '@aws-sdk/ec2-metadata-service';

/** Reads one EC2 instance metadata path (`/latest/meta-data/instance-id`) and resolves to its text. */
export type MetadataReader = (path: string) => Promise<string>;

/** Where {@link imdsReader} finds the instance metadata service. */
export interface ImdsReaderOptions {
  /**
   * The service's base URL (`http://127.0.0.1:5000` for a stand-in). When unset the SDK takes its standard setting,
   * `AWS_EC2_METADATA_SERVICE_ENDPOINT` or `ec2_metadata_service_endpoint` in the profile, else `http://169.254.169.254`.
   */
  readonly endpoint?: string;
}

/**
 * Off EC2 nothing answers at 169.254.169.254, and a connection there hangs rather than being refused: a short timeout
 * keeps start-up from stalling before the error says which setting to give. No retries: after a token request times
 * out (off EC2, or a container beyond the instance's hop limit) the SDK stops fetching tokens, so with IMDSv1 disabled
 * every retry fails with "fetching token is disabled" and the error would hide the timeout that explains it. On EC2
 * the service answers in milliseconds; a start-up that failed is retried as a whole (the systemd unit restarts on
 * failure).
 */
const TIMEOUT_MS = 2_000;
const RETRIES = 0;

/**
 * The instance metadata service through `@aws-sdk/ec2-metadata-service`, IMDSv2 only: every request fetches a session
 * token first (`PUT /latest/api/token`) and sends it; IMDSv1 fallback is disabled, so an instance that requires
 * tokens and one that allows both answer alike.
 */
export function imdsReader(options: ImdsReaderOptions = {}): MetadataReader {
  const service = new MetadataService({
    ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
    ec2MetadataV1Disabled: true,
    httpOptions: { timeout: TIMEOUT_MS },
    retries: RETRIES,
  });
  return (path) => service.request(path, {});
}
