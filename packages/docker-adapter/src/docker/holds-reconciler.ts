import type { Logger, VolumeEngine } from '@stowage/core';
import { volumesInUse, type DockerContainer, type DockerContainers } from './docker-containers.js';

/** How {@link HoldsReconciler} paces itself. */
export interface HoldsReconcilerTiming {
  /** Between two passes. */
  readonly intervalMs: number;
  /**
   * A hold younger than this is never released: a container is mounted before it runs (Docker mounts every volume,
   * each within its 2-minute deadline, then starts it), and `docker cp` mounts a stopped container's volumes for
   * as long as the copy takes.
   */
  readonly graceMs: number;
}

/** What one pass did. */
export interface HoldsReconcileReport {
  /** False when the Docker engine could not be asked: nothing was released. */
  readonly asked: boolean;
  /** Mounts released, per volume. */
  readonly released: Readonly<Record<string, number>>;
}

/**
 * Releases the holds of callers the Docker engine proves gone. The plugin protocol cannot tell when a Mount's
 * caller has died: Docker sends no Unmount after a Mount that failed on its side (a deadline passed, a connection
 * dropped), none for the containers of an engine that crashed, and none while the plugin is down. Such a hold would
 * pin its volume on this node forever (no `docker volume rm`, no move of a relocatable volume).
 *
 * The engine's API does not show Mount IDs, so the proof is per volume: a volume that no running, paused or
 * restarting container mounts has no live caller on this node; its holds older than the grace period are released.
 * A volume some live container mounts keeps every hold, so a live container's hold is never dropped (with the
 * engine's live-restore, running containers survive an engine restart and are not mounted again). When the engine
 * cannot be asked, nothing is released.
 */
export class HoldsReconciler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<HoldsReconcileReport> | undefined;
  private stopped = false;
  private unreachableLogged = false;

  constructor(
    private readonly engine: Pick<VolumeEngine, 'holds' | 'releaseHolds'>,
    private readonly docker: DockerContainers,
    private readonly logger: Logger,
    private readonly timing: HoldsReconcilerTiming,
  ) {}

  /** Starts the periodic passes, the first one at once. */
  start(): void {
    this.schedule(0);
  }

  /** Asks for a pass soon (a Docker engine has just activated the plugin: it may have restarted). */
  nudge(): void {
    if (!this.stopped) this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** One pass; a pass already under way is joined instead. */
  reconcile(): Promise<HoldsReconcileReport> {
    this.running ??= this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      void this.reconcile()
        .catch((error: unknown) => this.logger.error({ err: (error as Error).message }, 'hold reconciliation failed'))
        .finally(() => {
          if (!this.stopped) this.schedule(this.timing.intervalMs);
        });
    }, delayMs);
    this.timer.unref();
  }

  private async pass(): Promise<HoldsReconcileReport> {
    const held = this.engine.holds();
    if (held.length === 0) return { asked: false, released: {} };
    // Taken before the engine is asked: a Mount counted after this moment is never released by this pass.
    const askedAt = Date.now();
    let containers: DockerContainer[];
    try {
      containers = await this.docker.list();
    } catch (error) {
      if (!this.unreachableLogged) {
        this.logger.warn(
          { err: (error as Error).message },
          'cannot ask the Docker engine which containers exist; holds of gone containers stay until it answers',
        );
        this.unreachableLogged = true;
      }
      return { asked: false, released: {} };
    }
    this.unreachableLogged = false;
    const live = volumesInUse(containers);
    const released: Record<string, number> = {};
    for (const volume of held) {
      if (live.has(volume.name)) continue;
      const count = await this.engine
        .releaseHolds(
          volume.name,
          volume.callers.map((caller) => caller.id),
          askedAt - this.timing.graceMs,
        )
        .catch((error: unknown) => {
          this.logger.error(
            { volume: volume.name, err: (error as Error).message },
            'could not release the holds of gone containers',
          );
          return 0;
        });
      if (count > 0) released[volume.name] = count;
    }
    if (Object.keys(released).length > 0) {
      this.logger.info({ released }, 'released holds no container on this node has any more');
    }
    return { asked: true, released };
  }
}
