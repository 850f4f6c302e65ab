/**
 * @stowage/aws-node: what the AWS backings need to know about the EC2 instance they run on, from their settings or
 * from instance metadata (IMDSv2), with one error that says which setting to give off EC2.
 */
export {
  resolveNodeIdentity,
  type NodeIdentity,
  type NodeIdentityField,
  type ResolveNodeIdentityOptions,
} from './node-identity.js';
export { imdsReader, type MetadataReader, type ImdsReaderOptions } from './metadata-reader.js';
export {
  observeCloudCalls,
  CLOUD_CALL_MIDDLEWARE,
  CLOUD_ATTEMPT_MIDDLEWARE,
  type ObservableClient,
} from './observe-cloud-calls.js';
