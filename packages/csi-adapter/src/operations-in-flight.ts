import { CsiError } from './csi-error.js';

/**
 * The spec's ABORTED: one operation per volume at a time, and a second one answered at once instead of queued. A CO
 * retries ABORTED with backoff, whereas a call queued behind a slow one (an EBS attach) runs past the CO's deadline
 * (Swarm gives each call 15 s) and is retried anyway, piling up behind the first. The engine serialises per volume
 * too; this only decides what a CO hears while it does.
 */
export class OperationsInFlight {
  private readonly running = new Set<string>();

  /** Runs `work` as the one operation on `volumeId`, or throws ABORTED while another one runs. */
  async run<T>(volumeId: string, work: () => Promise<T>): Promise<T> {
    if (this.running.has(volumeId)) {
      throw CsiError.aborted(`another operation on volume "${volumeId}" is in progress; retry later`);
    }
    this.running.add(volumeId);
    try {
      return await work();
    } finally {
      this.running.delete(volumeId);
    }
  }
}
