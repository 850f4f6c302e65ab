export { startMotoServer, freePort, type MotoServer, type StartMotoOptions } from './moto-server.js';
