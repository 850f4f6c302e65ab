import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { StowageError } from '../errors/stowage-error.js';

// The lock's mtime is refreshed every UPDATE_MS; a lock older than STALE_MS belongs to a dead process (kill -9),
// so a restarted plugin waits at most about that long before it takes over.
const STALE_MS = 4_000;
const UPDATE_MS = 1_000;

/** Holds the state directory for one engine, so two plugins never share a mount table. */
export class StateDirLock {
  private release: (() => Promise<void>) | undefined;

  constructor(private readonly stateDir: string) {}

  async acquire(): Promise<void> {
    await mkdir(this.stateDir, { recursive: true, mode: 0o700 });
    try {
      this.release = await lockfile.lock(this.stateDir, {
        lockfilePath: join(this.stateDir, 'engine.lock'),
        stale: STALE_MS,
        update: UPDATE_MS,
        retries: { retries: 12, factor: 1.3, minTimeout: 200, maxTimeout: 1_000 },
        onCompromised: (error) => {
          // Another process took the directory over; carrying on could corrupt its mount table.
          throw error;
        },
      });
    } catch (error) {
      throw StowageError.inUse(
        `the state directory ${this.stateDir} is in use by another Stowage process; stop it, or give this one ` +
          `another state directory (${(error as Error).message})`,
        error,
      );
    }
  }

  async releaseLock(): Promise<void> {
    const release = this.release;
    this.release = undefined;
    // Stryker disable next-line OptionalChaining: only start() (after acquire succeeded) and a started engine's stop() call this.
    await release?.();
  }
}
