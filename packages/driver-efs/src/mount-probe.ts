import { stat } from 'node:fs/promises';
import { StowageError } from '@stowage/core';

/**
 * Whether a mounted file system answers: one stat(2) of its mount point. On an NFS server that stopped answering, a
 * stat blocks in the kernel, holding one of libuv's four threadpool threads until the server is back; readiness probes
 * every few seconds would soon hold them all and stall every file operation of the process. So there is at most one
 * stat per mount point: a probe while it is still blocked answers at once that it has not answered, and starts none.
 */
export class MountProbe {
  /** The mount points whose stat is under way, and since when. */
  private readonly pending = new Map<string, number>();

  constructor(
    private readonly statPath: (path: string) => Promise<unknown> = stat,
    private readonly now: () => number = Date.now,
  ) {}

  /** Resolves once `path` answers a stat; rejects with its error, or at once if the last stat has not returned. */
  async probe(path: string): Promise<void> {
    const since = this.pending.get(path);
    if (since !== undefined) {
      const seconds = Math.round((this.now() - since) / 1000);
      throw StowageError.backendFailure(`${path} has not answered a stat for ${seconds} s`);
    }
    this.pending.set(path, this.now());
    try {
      await this.statPath(path);
    } finally {
      this.pending.delete(path);
    }
  }
}
