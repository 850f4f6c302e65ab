import { QuietGate, type QuietEnd, type QuietWait } from './quiet-gate.js';

/**
 * One pass of a {@link QuietWorker}'s job. `more()` says whether to take another step: false once the worker is
 * closing, or, in a pass that began at a pause, once a call came in (the first step is always taken); a pass after
 * the deadline or on demand runs to the end of what it has.
 */
export type QuietPass = (end: QuietEnd, more: () => boolean) => Promise<void>;

/**
 * Runs a background job of the local backing in passes, each once the backing's calls pause ({@link QuietGate}),
 * for as long as the job has work pending; one pass at a time. {@link settled} has the passes go without waiting
 * (a caller needs the work done); {@link close} lets the step under way finish and takes no more.
 */
export class QuietWorker {
  private running: Promise<void> | undefined;
  private waiting: QuietWait | undefined;
  /** Someone waits for the work: no waiting for quiet until it is all done. */
  private urgent = false;
  private closed = false;

  constructor(
    private readonly gate: QuietGate,
    /** Whether the job has work left. */
    private readonly pending: () => boolean,
    private readonly pass: QuietPass,
  ) {}

  /** Whether {@link close} was called: the job takes no more work. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** The job has work: starts the passes, unless they run already or the worker is closed. */
  start(): void {
    if (this.closed) return;
    this.running ??= this.run();
  }

  /** Ends the wait for quiet under way, and any later one until the work is done. */
  private hasten(): void {
    this.urgent = true;
    this.waiting?.now();
  }

  /** Resolves once the job has no work left (or is closed), without waiting for quiet. */
  async settled(): Promise<void> {
    while (this.running) {
      this.hasten();
      await this.running;
    }
  }

  /** Lets the step under way finish and takes no more. */
  async close(): Promise<void> {
    this.closed = true;
    this.waiting?.now();
    await this.running;
  }

  private async run(): Promise<void> {
    try {
      // The answer of the call that queued the work leaves before the disk is asked for anything.
      await new Promise((resolve) => setImmediate(resolve));
      while (!this.closed && this.pending()) {
        let end: QuietEnd = 'now';
        if (!this.urgent) {
          this.waiting = this.gate.wait();
          end = await this.waiting.done;
          this.waiting = undefined;
          // The work may have gone meanwhile (a volume removed before its syncs ran).
          if (this.closed || !this.pending()) break;
        }
        const began = performance.now();
        let steps = 0;
        await this.pass(end, () => {
          if (this.closed) return false;
          if (end === 'quiet' && steps > 0 && !this.urgent && this.gate.calledSince(began)) return false;
          steps += 1;
          return true;
        });
      }
    } finally {
      this.running = undefined;
      this.urgent = false;
    }
  }
}
