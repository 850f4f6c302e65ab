import { CsiError } from './csi-error.js';

/** How one call takes part in {@link OperationsInFlight.run}. */
export interface OperationOptions {
  /**
   * What the operation does, with the arguments that make it that operation (`publish /target rw`): a call with the
   * same key joins one under way instead of being refused. Left out, nothing joins it.
   */
  readonly key?: string;
  /** How long this call waits; past it, the operation goes on in the background and the call answers ABORTED. */
  readonly budgetMs?: number | undefined;
}

interface Operation {
  readonly key: string | undefined;
  readonly done: Promise<unknown>;
  /** Calls waiting for it now. */
  waiters: number;
  /** Its failure, kept for the next call with its key when it failed with nobody waiting. */
  failure?: { readonly error: unknown };
}

/**
 * The spec's ABORTED: one operation per volume at a time, and another one answered at once instead of queued. A CO
 * retries ABORTED with backoff, whereas a call queued behind a slow one would run past the CO's deadline (Swarm gives
 * each call 15 s) and be retried anyway, piling up behind the first.
 *
 * An operation outlasting its call's budget (an EBS attach, a move across zones) is not cancelled: it goes on, the
 * call answers ABORTED ("operation pending for volume"), and the CO's retry of the same call joins it and answers its
 * outcome. A failure nobody was waiting for is kept for that retry, so it is answered rather than lost; any other
 * operation on the volume forgets it (the CO moved on). The engine serialises per volume too; this only decides what
 * a CO hears meanwhile.
 */
export class OperationsInFlight {
  private readonly byVolume = new Map<string, Operation>();

  /** Runs `work` as the one operation on `volumeId`, joins the same operation under way, or throws ABORTED. */
  async run<T>(volumeId: string, work: () => Promise<T>, options: OperationOptions = {}): Promise<T> {
    const current = this.byVolume.get(volumeId);
    if (current && (current.key === undefined || current.key !== options.key)) {
      if (!current.failure) {
        throw CsiError.aborted(`another operation on volume "${volumeId}" is in progress; retry later`);
      }
      this.byVolume.delete(volumeId);
    }
    const joined = current !== undefined && current.key !== undefined && current.key === options.key;
    const operation = joined ? current : this.start(volumeId, work, options.key);
    return (await this.wait(volumeId, operation, options.budgetMs)) as T;
  }

  /** Resolves once every operation under way has ended, as a stopping plugin waits before it stops the engine. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.byVolume.values()].map((operation) => operation.done));
  }

  private start(volumeId: string, work: () => Promise<unknown>, key: string | undefined): Operation {
    const operation: Operation = {
      key,
      waiters: 0,
      done: Promise.resolve()
        .then(work)
        .then(
          (value) => {
            this.forget(volumeId, operation);
            return value;
          },
          (error: unknown) => {
            if (operation.waiters > 0) this.forget(volumeId, operation);
            else operation.failure = { error };
            throw error;
          },
        ),
    };
    // Its outcome reaches a waiter, or the next call through `failure`: never an unhandled rejection.
    operation.done.catch(() => undefined);
    this.byVolume.set(volumeId, operation);
    return operation;
  }

  private async wait(volumeId: string, operation: Operation, budgetMs: number | undefined): Promise<unknown> {
    if (operation.failure) {
      this.forget(volumeId, operation);
      throw operation.failure.error;
    }
    operation.waiters += 1;
    let timer: NodeJS.Timeout | undefined;
    try {
      if (budgetMs === undefined) return await operation.done;
      const overtime = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              CsiError.aborted(
                `the operation on volume "${volumeId}" is still in progress after ${Math.round(budgetMs / 1000)} s ` +
                  '(an attach or a move across zones); it goes on, retry the same call to follow it',
              ),
            ),
          budgetMs,
        );
      });
      return await Promise.race([operation.done, overtime]);
    } finally {
      clearTimeout(timer);
      operation.waiters -= 1;
    }
  }

  private forget(volumeId: string, operation: Operation): void {
    if (this.byVolume.get(volumeId) === operation) this.byVolume.delete(volumeId);
  }
}
