import type { CallerHold, HeldVolume, VolumeEngine } from '@stowage/core';

/**
 * How long after a start a Mount the previous process counted and never answered may come again as that same Mount:
 * the Docker engine's plugin client resends a request whose connection failed, with backoff, for 30 s.
 */
export const RESENT_MOUNT_WINDOW_MS = 60_000;

/**
 * The Docker engine's rule for Mounts a plugin restart cut off: the engine counts them provisionally (the Docker
 * engine sends no Unmount for a Mount it got no answer to), and the Docker engine resends one whose connection
 * failed. After a restart, a Mount of a caller that still has provisional Mounts the previous process counted may be
 * one of them sent again; it is taken as such only while the window is open and when the Docker engine confirms it
 * (no container runs with the volume yet: one waiting for its Mount does not run). Each remembered Mount is taken
 * once; a caller's Unmount, or its holds released as gone, forgets it.
 */
export class ResentMounts {
  /** Per `<volume>\0<caller>`: provisional Mounts counted before the start and not yet sent again. */
  private left = new Map<string, number>();
  private window: NodeJS.Timeout | undefined;

  /** @param confirm whether a Mount of the volume can be one sent again (see `dockerConfirmsResend`) */
  constructor(
    private readonly confirm: (name: string) => Promise<boolean>,
    private readonly windowMs = RESENT_MOUNT_WINDOW_MS,
  ) {}

  /** Takes in what the engine holds right after its start ({@link VolumeEngine.holds}), and opens the window. */
  remember(held: readonly HeldVolume[]): void {
    this.left = new Map(
      held.flatMap((volume) =>
        volume.callers
          .filter((caller) => caller.pending > 0)
          .map((caller) => [holdKey(volume.name, caller.id), caller.pending] as const),
      ),
    );
    clearTimeout(this.window);
    if (this.left.size === 0) return;
    this.window = setTimeout(() => this.left.clear(), this.windowMs);
    this.window.unref();
  }

  /**
   * The engine's `isRetry` hook for a Mount of `name` by `callerId`: whether it is one the previous process counted
   * and never answered, sent again. If so that Mount is taken off the list, so a later Mount of the same caller
   * (`docker cp`) counts. A throw from the Docker engine reaches the engine, which counts the Mount.
   */
  isRetry(name: string, callerId: string): (hold: CallerHold) => Promise<boolean> {
    return async () => {
      const key = holdKey(name, callerId);
      if (!this.left.has(key)) return false;
      if ((await this.confirm(name)) !== true) return false;
      // Read again: another caller's resend of the volume may have run while the Docker engine was asked.
      const left = this.left.get(key);
      if (left === undefined) return false;
      if (left <= 1) this.left.delete(key);
      else this.left.set(key, left - 1);
      return true;
    };
  }

  /** The callers' Mounts of `name` are matched or released: none of theirs can come again. */
  forget(name: string, callerIds: Iterable<string>): void {
    for (const id of callerIds) this.left.delete(holdKey(name, id));
  }

  /** How many remembered Mounts may still come again (for tests and diagnostics). */
  get remembered(): number {
    let sum = 0;
    for (const left of this.left.values()) sum += left;
    return sum;
  }

  close(): void {
    clearTimeout(this.window);
    this.left.clear();
  }
}

/** The engine as the holds reconciler sees it: releasing a caller's holds also forgets its Mounts that may come again. */
export function forgettingReleased(
  engine: Pick<VolumeEngine, 'holds' | 'releaseHolds'>,
  resent: ResentMounts | undefined,
): Pick<VolumeEngine, 'holds' | 'releaseHolds'> {
  if (!resent) return engine;
  return {
    holds: () => engine.holds(),
    releaseHolds: async (name, callerIds, countedBefore) => {
      const ids = [...callerIds];
      const dropped = await engine.releaseHolds(name, ids, countedBefore);
      // Callers kept (they mounted since) are forgotten too: a resend of theirs is then counted anew, which only
      // keeps the volume held longer, never releases it under a container.
      if (dropped > 0) resent.forget(name, ids);
      return dropped;
    },
  };
}

function holdKey(name: string, callerId: string): string {
  return `${name}\0${callerId}`;
}
