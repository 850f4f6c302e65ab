/**
 * @stowage/testkit/moto: the AWS API stand-in of the AWS backings' tests. A moto server on loopback behind a stand-in
 * for EC2's ClientToken idempotency, a counting proxy for API-economy tests, and the cloud set-up the tests share.
 */
export { startMotoServer, freePort, type MotoServer, type StartMotoOptions } from './moto-server.js';
export { startCountingProxy, actionOf, lookupOf, type CountingProxy } from './counting-proxy.js';
export { startClientTokenProxy, type ClientTokenProxy } from './client-token-proxy.js';
export { MOTO_REGION, motoClientConfig, motoEc2Client, motoEfsClient, runInstance } from './moto-clients.js';
export { MotoCloud, type StartMotoCloudOptions, type MotoFileSystemOptions } from './moto-cloud.js';
export { startEfsStandIn, type EfsStandIn, type EfsStandInOptions } from './efs-stand-in.js';
