export { startMotoServer, type MotoServer, type StartMotoOptions } from './moto-server.js';
