export { startMotoServer, freePort, type MotoServer, type StartMotoOptions } from './moto-server.js';
export { startCountingProxy, actionOf, type CountingProxy } from './counting-proxy.js';
export { startClientTokenProxy, type ClientTokenProxy } from './client-token-proxy.js';
