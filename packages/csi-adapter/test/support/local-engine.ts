import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { composeStowage, createLogger, type HostOperations, type Stowage } from '@stowage/core';
import { driver as localDriver } from '@stowage/driver-local';

/** A started engine over the real local backing in a directory of its own, and how to start it again there. */
export interface LocalEngine {
  readonly dir: string;
  stowage: Stowage;
  /** Stops the engine and starts a new one over the same state and volumes, as a restarted plugin would. */
  restart(): Promise<Stowage>;
  /** Stops the engine and deletes the directory. */
  dispose(): Promise<void>;
}

export const silentLogger = createLogger({ level: 'silent' });

async function compose(dir: string, host: HostOperations): Promise<Stowage> {
  const stowage = await composeStowage({
    config: {
      stateDir: join(dir, 'state'),
      logLevel: 'silent',
      drivers: { local: { settings: { root: join(dir, 'volumes') } } },
    },
    drivers: [localDriver],
    logger: silentLogger,
    host,
  });
  await stowage.engine.start();
  return stowage;
}

export async function startLocalEngine(host: HostOperations): Promise<LocalEngine> {
  const dir = await mkdtemp(join(tmpdir(), 'stowage-csi-'));
  const engine: LocalEngine = {
    dir,
    stowage: await compose(dir, host),
    async restart() {
      await engine.stowage.close();
      engine.stowage = await compose(dir, host);
      return engine.stowage;
    },
    async dispose() {
      await engine.stowage.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return engine;
}
