import { NO_VOLUME_EVENTS, StowageError, eventErrorMessage, type Logger, type VolumeEventSink } from '@stowage/core';
import { EBS_BACKING } from './ebs-backing.js';
import { withProgressLog } from './progress-log.js';

/** Where a cross-zone move of one volume stands, as Mount errors, logs and `stowage volume inspect` show it. */
export interface MoveProgress {
  readonly from: string;
  readonly to: string;
  /** `snapshot`: the transfer snapshot is being taken; `volume`: the new volume is being made from it; `cleanup`: the old volume and snapshot go. */
  readonly phase: 'snapshot' | 'volume' | 'cleanup';
  readonly snapshotId?: string;
  /** The transfer snapshot's progress, 0 to 100. */
  readonly percent?: number;
  readonly startedAt: Date;
}

/** What a move reports as it goes. */
export type ReportProgress = (update: Partial<Omit<MoveProgress, 'from' | 'to' | 'startedAt'>>) => void;

interface RunningMove<T> {
  readonly done: Promise<T>;
  readonly abort: AbortController;
  progress: MoveProgress;
  /** The phase and whole percent of the last `move.progress` event. */
  reported?: { readonly phase: MoveProgress['phase']; readonly percent: number };
}

/**
 * Runs moves in the background, one per volume name, and lets callers wait for one only so long.
 *
 * The Docker engine gives a plugin's Mount about two minutes; a move across zones may take longer. So a caller
 * waits at most its budget; past it the move goes on, the caller gets an error saying how far the move is, and a
 * later call (swarm retries the task) joins the same move or finds it finished. Nothing here waits for a move
 * but the callers of {@link run}: inspect and list read {@link progress} and return at once.
 *
 * Each move is reported to the event sink as it goes: `move.started`, `move.progress` at each change of phase or of
 * whole percent (the snapshot is polled every few seconds; an unchanged poll reports nothing), and `move.done` or
 * `move.failed`.
 */
export class MoveTracker<T> {
  private readonly moves = new Map<string, RunningMove<T>>();

  constructor(
    private readonly logger: Logger,
    /** How often a caller waiting for a move logs how far it is; every 10 s by default. */
    private readonly progressLogMs?: number,
    private readonly events: VolumeEventSink = NO_VOLUME_EVENTS,
  ) {}

  /**
   * Joins the move of `name`, starting it with `start` if none runs, and waits for it at most `budgetMs`.
   * Past the budget, throws a BackendFailure saying the move is under way and how far it is.
   */
  async run(
    name: string,
    route: { from: string; to: string },
    start: (report: ReportProgress, signal: AbortSignal) => Promise<T>,
    budgetMs: number,
  ): Promise<T> {
    const move = this.moves.get(name) ?? this.begin(name, route, start);
    let timer: NodeJS.Timeout | undefined;
    const budget = new Promise<'budget'>((resolve) => {
      timer = setTimeout(() => resolve('budget'), budgetMs);
    });
    try {
      const outcome = await withProgressLog(
        {
          logger: this.logger,
          fields: { volume: name },
          what: `the move of volume "${name}"`,
          detail: () => ({ move: describeMove(move.progress) }),
          ...(this.progressLogMs ? { everyMs: this.progressLogMs } : {}),
        },
        Promise.race([move.done.then((value) => ({ value })), budget]),
      );
      if (outcome === 'budget')
        throw StowageError.backendFailure(
          `volume "${name}" is ${describeMove(move.progress)}; retry shortly: the move goes on meanwhile`,
        );
      return outcome.value;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The move of `name` under way on this node, if any. */
  progress(name: string): MoveProgress | undefined {
    return this.moves.get(name)?.progress;
  }

  /**
   * Stops the move of `name`, if one runs here, and waits until it has stopped (whichever way it ends), at most
   * `boundMs`: past it, throws a BackendFailure saying the move is still stopping (it stops at its next step).
   */
  async cancel(name: string, boundMs = Number.POSITIVE_INFINITY): Promise<void> {
    const move = this.moves.get(name);
    if (move === undefined) return;
    move.abort.abort();
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<'bound'>((resolve) => {
      if (Number.isFinite(boundMs)) timer = setTimeout(() => resolve('bound'), boundMs);
    });
    try {
      const outcome = await Promise.race([
        move.done.then(
          () => 'stopped' as const,
          () => 'stopped' as const,
        ),
        bound,
      ]);
      if (outcome === 'bound') {
        throw StowageError.backendFailure(
          `volume "${name}" is ${describeMove(move.progress)}, and the move is still stopping; retry shortly`,
        );
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops every move at its next step; a move is resumable, so the next Mount takes it up again. */
  async close(): Promise<void> {
    const running = [...this.moves.values()];
    for (const move of running) move.abort.abort();
    await Promise.allSettled(running.map((m) => m.done));
  }

  /** A `move.progress` event when the phase or the whole percent changed since the last one. */
  private reportProgress(
    move: RunningMove<T>,
    subject: { volume: string; backing: string; from: string; to: string },
  ): void {
    const { phase } = move.progress;
    const percent = Math.floor(move.progress.percent ?? 0);
    if (move.reported?.phase === phase && move.reported.percent === percent) return;
    move.reported = { phase, percent };
    this.events.emit({ type: 'move.progress', ...subject, phase, percent });
  }

  private begin(
    name: string,
    route: { from: string; to: string },
    start: (report: ReportProgress, signal: AbortSignal) => Promise<T>,
  ): RunningMove<T> {
    const abort = new AbortController();
    const move: RunningMove<T> = {
      abort,
      progress: { ...route, phase: 'snapshot', startedAt: new Date() },
      done: undefined as unknown as Promise<T>,
    };
    const subject = { volume: name, backing: EBS_BACKING, ...route };
    const report: ReportProgress = (update) => {
      const before = move.progress;
      move.progress = { ...before, ...update };
      if (before.phase !== move.progress.phase || before.percent !== move.progress.percent) {
        this.logger.info({ volume: name, move: move.progress }, `volume is ${describeMove(move.progress)}`);
      }
      this.reportProgress(move, subject);
    };
    this.events.emit({ type: 'move.started', ...subject });
    (move as { done: Promise<T> }).done = (async () => {
      try {
        const moved = await start(report, abort.signal);
        this.events.emit({ type: 'move.done', ...subject, seconds: secondsSince(move.progress.startedAt) });
        return moved;
      } catch (error) {
        const why = abort.signal.aborted
          ? `stopped on this node before it finished (${eventErrorMessage(error)})`
          : eventErrorMessage(error);
        this.events.emit({ type: 'move.failed', ...subject, error: why });
        throw error;
      } finally {
        this.moves.delete(name);
      }
    })();
    // A caller gone past its budget no longer listens; the failure must still be seen.
    move.done.catch((error: unknown) => {
      this.logger.error(
        { volume: name, err: (error as Error).message },
        'volume move failed; the next mount retries it',
      );
    });
    this.moves.set(name, move);
    return move;
  }
}

/** Seconds since `start`, to the tenth. */
function secondsSince(start: Date): number {
  return Math.round((Date.now() - start.getTime()) / 100) / 10;
}

/** "moving from us-east-1a to us-east-1b: snapshot snap-… 42% done" */
export function describeMove(progress: MoveProgress): string {
  const route = `moving from ${progress.from} to ${progress.to}`;
  switch (progress.phase) {
    case 'snapshot':
      return `${route}: transfer snapshot ${progress.snapshotId ?? '(starting)'} ${progress.percent ?? 0}% done`;
    case 'volume':
      return `${route}: snapshot done, making the volume in ${progress.to}`;
    case 'cleanup':
      return `${route}: new volume ready, removing the old one`;
  }
}
