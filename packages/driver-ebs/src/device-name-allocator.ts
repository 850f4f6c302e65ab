import { Mutex } from 'async-mutex';
import { StowageError } from '@stowage/core';

/** The names Stowage attaches volumes under, as EC2 recommends for EBS data volumes: `/dev/xvdf` to `/dev/xvdz`. */
export const DEVICE_NAMES: readonly string[] = 'fghijklmnopqrstuvwxyz'.split('').map((letter) => `/dev/xvd${letter}`);

/** How long a name EC2 called in use is skipped: long enough for its detach to finish, short enough to reuse it. */
export const DEFAULT_AVOID_MS = 5 * 60_000;

/** What EC2 reports attached to this instance now. */
export interface AttachedDevices {
  /** Device names of every attachment to this instance (`/dev/xvda`, `/dev/sdf`...), any volume. */
  readonly devices: readonly string[];
}

/** A name held for one attach in progress; release it once EC2 reports the attachment (or the attach failed). */
export interface DeviceReservation {
  readonly device: string;
  release(): void;
}

/**
 * Chooses device names for attaching volumes to this instance. EC2 leaves naming to the caller and refuses a name
 * already used, and concurrent mounts of different volumes on one node must not pick the same name, so picking is
 * serialised, names being attached are reserved until EC2 shows them, and names EC2 refused sit out a while.
 */
export class DeviceNameAllocator {
  private readonly mutex = new Mutex();
  private readonly reserved = new Set<string>();
  private readonly avoided = new Map<string, number>();

  constructor(
    private readonly attachLimit: number,
    private readonly avoidMs = DEFAULT_AVOID_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Reserves a free name, given a fresh view of this instance's attachments; refuses past the attach limit, or with
   * every name taken, with LimitReached: this instance can take no more until one is released, another node may.
   */
  reserve(attached: () => Promise<AttachedDevices>): Promise<DeviceReservation> {
    return this.mutex.runExclusive(async () => {
      const { devices } = await attached();
      const taken = new Set([...devices.map(slot), ...[...this.reserved].map(slot)]);
      if (taken.size >= this.attachLimit) {
        throw StowageError.limitReached(
          `this instance already has ${taken.size} volumes attached or being attached, the configured attachLimit ` +
            `of ${this.attachLimit}; release a volume on this node or raise the ebs driver's attachLimit setting`,
        );
      }
      const now = this.now();
      for (const [name, until] of this.avoided) if (until <= now) this.avoided.delete(name);
      const device = DEVICE_NAMES.find((name) => !taken.has(slot(name)) && !this.avoided.has(name));
      if (device === undefined) {
        throw StowageError.limitReached(
          `no free device name left for an EBS attachment on this instance (${DEVICE_NAMES[0]} to ${DEVICE_NAMES.at(-1)} ` +
            'are in use or were refused by EC2 recently); release a volume on this node and retry',
        );
      }
      this.reserved.add(device);
      let released = false;
      return {
        device,
        release: () => {
          if (released) return;
          released = true;
          this.reserved.delete(device);
        },
      };
    });
  }

  /** Skips `device` for a while: EC2 said it is in use although this node's view did not show it. */
  avoid(device: string): void {
    this.avoided.set(device, this.now() + this.avoidMs);
  }
}

/** `/dev/sdf` and `/dev/xvdf` are one slot: Xen kernels rename one to the other. */
function slot(device: string): string {
  const base = device.replace(/^\/dev\//, '');
  const match = /^(?:xv|s)d([a-z]+)$/.exec(base);
  return match ? `xvd${match[1]}` : base;
}
