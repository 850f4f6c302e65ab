/** When background work may begin: {@link QuietGate}. */
export interface QuietTiming {
  /** How long the backing's callers must have been silent. */
  readonly quietMs: number;
  /** The longest any work waits for that silence: under a steady stream of calls it goes ahead anyway. */
  readonly maxWaitMs: number;
}

/**
 * What the local backing's background work (a create's fsyncs, a removed volume's deletion, the blanks made for the
 * next creates) waits for: a moment when no call is under way and none came for a few milliseconds. That work is
 * all journal commits, inode allocations and discards on the disk the answers need too; run at once, it lands in the
 * middle of the calls that follow (the engine's Get after a Create, the Remove after a Get), and on this kind of disk
 * it made them a third slower (bench/, BENCHMARKS.md). Waiting for a lull puts it between bursts instead; the
 * deadline bounds the wait, so nothing is put off for longer than {@link QuietTiming.maxWaitMs} whatever the load.
 */
export const DEFAULT_QUIET: QuietTiming = { quietMs: 5, maxWaitMs: 1_000 };

/**
 * How a wait for quiet ended: the calls paused (`quiet`), or went on until the deadline (`deadline`: the work waited
 * long enough, and should catch up on everything queued by then), or the owner or a stop cut it short (`now`).
 */
export type QuietEnd = 'quiet' | 'deadline' | 'now';

/** No waiting at all: the work goes as soon as it is queued (tests, and users of the background classes alone). */
export const AT_ONCE: QuietTiming = { quietMs: 0, maxWaitMs: 0 };

/** A wait for quiet that its owner can cut short. */
export interface QuietWait {
  readonly done: Promise<QuietEnd>;
  /** Ends the wait now (a caller needs the work done: a Mount, a stop). */
  readonly now: () => void;
}

/**
 * Tracks the calls of one backing and tells background work when they have gone quiet. {@link hurry} ends every wait
 * at once, and every later one, for a stop.
 */
export class QuietGate {
  private underWay = 0;
  private lastCall = Number.NEGATIVE_INFINITY;
  private lastBegin = Number.NEGATIVE_INFINITY;
  private hurried = false;
  private readonly waits = new Set<() => void>();

  constructor(private readonly timing: QuietTiming = DEFAULT_QUIET) {}

  /** A caller's call begins; {@link done} must follow when it ends, however it ends. */
  begin(): void {
    this.underWay += 1;
    this.lastCall = performance.now();
    this.lastBegin = this.lastCall;
  }

  done(): void {
    this.underWay -= 1;
    this.lastCall = performance.now();
  }

  /** Runs `call` as a caller's call: between {@link begin} and {@link done}. */
  async during<T>(call: () => Promise<T>): Promise<T> {
    this.begin();
    try {
      return await call();
    } finally {
      this.done();
    }
  }

  /** Whether a call is under way, or one began at or after `since` (a `performance.now()` reading). */
  calledSince(since: number): boolean {
    return this.underWay > 0 || this.lastBegin >= since;
  }

  /** Resolves once no call has been under way for `quietMs`, `maxWaitMs` at the latest, or at once after a hurry. */
  wait(): QuietWait {
    let finish!: (how: QuietEnd) => void;
    const done = new Promise<QuietEnd>((resolve) => {
      if (this.hurried) {
        finish = () => undefined;
        resolve('now');
        return;
      }
      const deadline = performance.now() + this.timing.maxWaitMs;
      let timer: NodeJS.Timeout | undefined;
      let ended = false;
      finish = (how) => {
        if (ended) return;
        ended = true;
        clearTimeout(timer);
        this.waits.delete(cutShort);
        resolve(how);
      };
      const cutShort = (): void => finish('now');
      const check = (): void => {
        const now = performance.now();
        const silentFor = this.underWay > 0 ? 0 : now - this.lastCall;
        if (silentFor >= this.timing.quietMs) {
          finish('quiet');
          return;
        }
        if (now >= deadline) {
          finish('deadline');
          return;
        }
        // A call under way is checked again after a whole quiet period: it has to end, then be followed by one.
        timer = setTimeout(check, Math.max(1, Math.min(this.timing.quietMs - silentFor, deadline - now)));
      };
      this.waits.add(cutShort);
      check();
    });
    return { done, now: () => finish('now') };
  }

  /** Ends every wait under way now: a caller wants the work queued so far done. */
  flush(): void {
    for (const end of [...this.waits]) end();
  }

  /** Ends every wait now, and makes every later one end at once: the backing is stopping. */
  hurry(): void {
    this.hurried = true;
    this.flush();
  }
}
