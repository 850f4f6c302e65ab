import type { VolumeEvent } from '@stowage/core';
import { Counter, Gauge, type Registry } from 'prom-client';

/** What the event metrics read of the hub: its live events. */
export interface EventSource {
  subscribe(listener: (event: VolumeEvent) => void): () => void;
}

interface MoveInFlight {
  readonly backing: string;
  phase: string;
  percent: number;
}

interface NewestSnapshot {
  readonly backing: string;
  readonly takenAt: number;
}

/**
 * Metrics of what the drivers do on their own, kept from the volume events as they happen (see `VolumeEvents`):
 *
 * - `stowage_moves_in_progress{backing}` and `stowage_move_progress_percent{volume,backing,phase}` (the phase under
 *   way and its percent done, while the move lasts); `stowage_moves_total{backing,outcome}` (`done`, `failed`);
 * - `stowage_snapshots_total{backing,outcome}` (`taken`, `failed`), `stowage_snapshots_pruned_total{backing}`;
 * - `stowage_snapshot_newest_age_seconds{volume,backing}`: seconds since the newest snapshot of each volume attached
 *   here was taken, counted from the snapshot's own start time at scrape time. Known from this process's life only:
 *   after a restart a volume shows once its next periodic snapshot is taken. Dropped when the volume is unmounted here
 *   or removed.
 *
 * State is per volume in flight or attached, so it stays as small as the node's mounts.
 */
export class VolumeEventMetrics {
  private readonly moves = new Map<string, MoveInFlight>();
  private readonly snapshots = new Map<string, NewestSnapshot>();
  private readonly unsubscribe: () => void;

  constructor(registry: Registry, source: EventSource, now: () => number = Date.now) {
    const registers = [registry];
    const moves = this.moves;
    const snapshots = this.snapshots;
    const clock = now;
    new Gauge({
      name: 'stowage_moves_in_progress',
      help: 'Volume moves under way on this node (a cross-zone copy), by backing',
      labelNames: ['backing'],
      registers,
      collect() {
        this.reset();
        const counts = new Map<string, number>();
        for (const move of moves.values()) counts.set(move.backing, (counts.get(move.backing) ?? 0) + 1);
        for (const [backing, count] of counts) this.set({ backing }, count);
      },
    });
    new Gauge({
      name: 'stowage_move_progress_percent',
      help: 'Percent done of the phase under way of each move in progress',
      labelNames: ['volume', 'backing', 'phase'],
      registers,
      collect() {
        this.reset();
        for (const [volume, move] of moves)
          this.set({ volume, backing: move.backing, phase: move.phase }, move.percent);
      },
    });
    new Gauge({
      name: 'stowage_snapshot_newest_age_seconds',
      help: 'Seconds since the newest snapshot of each volume attached here was taken (seen by this process)',
      labelNames: ['volume', 'backing'],
      registers,
      collect() {
        this.reset();
        const at = clock();
        for (const [volume, { backing, takenAt }] of snapshots) {
          this.set({ volume, backing }, Math.max(0, (at - takenAt) / 1000));
        }
      },
    });
    const movesTotal = new Counter({
      name: 'stowage_moves_total',
      help: 'Volume moves ended on this node, by backing and outcome (done, failed)',
      labelNames: ['backing', 'outcome'],
      registers,
    });
    const snapshotsTotal = new Counter({
      name: 'stowage_snapshots_total',
      help: 'Periodic snapshots by backing and outcome (taken, failed)',
      labelNames: ['backing', 'outcome'],
      registers,
    });
    const pruned = new Counter({
      name: 'stowage_snapshots_pruned_total',
      help: 'Snapshots deleted by the retention policy, by backing',
      labelNames: ['backing'],
      registers,
    });

    this.unsubscribe = source.subscribe((event) => {
      switch (event.type) {
        case 'move.started':
          moves.set(event.volume, { backing: event.backing, phase: 'starting', percent: 0 });
          break;
        case 'move.progress': {
          const move = moves.get(event.volume) ?? { backing: event.backing, phase: event.phase, percent: 0 };
          move.phase = event.phase;
          move.percent = event.percent;
          moves.set(event.volume, move);
          break;
        }
        case 'move.done':
        case 'move.failed':
          moves.delete(event.volume);
          movesTotal.inc({ backing: event.backing, outcome: event.type === 'move.done' ? 'done' : 'failed' });
          break;
        case 'snapshot.taken': {
          const takenAt = Date.parse(event.takenAt);
          const known = snapshots.get(event.volume);
          if (Number.isFinite(takenAt) && (known === undefined || takenAt > known.takenAt)) {
            snapshots.set(event.volume, { backing: event.backing, takenAt });
          }
          snapshotsTotal.inc({ backing: event.backing, outcome: 'taken' });
          break;
        }
        case 'snapshot.failed':
          snapshotsTotal.inc({ backing: event.backing, outcome: 'failed' });
          break;
        case 'snapshot.pruned':
          pruned.inc({ backing: event.backing });
          break;
        case 'volume.unmounted':
        case 'volume.removed':
          snapshots.delete(event.volume);
          break;
        default:
          break;
      }
    });
  }

  /** Stops following the events (the series stay as they were). */
  close(): void {
    this.unsubscribe();
  }
}
