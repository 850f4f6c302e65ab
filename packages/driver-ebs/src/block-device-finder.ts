import { readFile, realpath } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { StowageError, type Logger } from '@stowage/core';
import { withProgressLog } from './progress-log.js';

/** The by-id name udev gives an EBS volume on Nitro instances: the volume id without its dash. */
export function nvmeLinkName(volumeId: string): string {
  return `nvme-Amazon_Elastic_Block_Store_${compactVolumeId(volumeId)}`;
}

/** `vol-0abc` as EBS writes it into NVMe serial numbers: `vol0abc`. */
export function compactVolumeId(volumeId: string): string {
  return volumeId.replace('-', '');
}

export interface BlockDeviceFinderOptions {
  readonly deviceDir: string;
  readonly sysfsRoot: string;
  /** How long to wait for the device after EC2 reports the attachment. */
  readonly timeoutMs?: number;
  readonly pollMs?: number;
  /** How often a long wait for a device logs what it waits for; every 10 s by default. */
  readonly progressLogMs?: number;
}

/** An attached volume's block device, verified to be that volume. */
export interface FoundDevice {
  /** The device node (`/dev/nvme1n1`), links resolved: what mkfs, blkid and mount are given. */
  readonly path: string;
  /** The name it was found under in the device directory. */
  readonly link: string;
}

/**
 * Finds the block device of an attached EBS volume and proves it is that volume before anyone touches it.
 *
 * On Nitro the volume appears as `<deviceDir>/nvme-Amazon_Elastic_Block_Store_vol…`; on Xen under the name
 * requested at attach (`xvdf`) or its `sdf` alias. A by-id link can be stale and point at another disk, so the
 * device's serial number (which EBS sets to the volume id on NVMe, as `lsblk -o SERIAL` shows and the EBS CSI
 * driver checks) must match, or nothing is done with it: formatting the wrong disk is this driver's worst bug.
 */
export class BlockDeviceFinder {
  private readonly timeoutMs: number;
  private readonly pollMs: number;

  constructor(
    private readonly options: BlockDeviceFinderOptions,
    private readonly logger: Logger,
  ) {
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.pollMs = options.pollMs ?? 100;
  }

  /**
   * Waits for the device of `volumeId`, attached under `requestedDevice`, and verifies it. Waits at most the finder's
   * timeout, or `boundMs` (what is left of the caller's budget) if that is less.
   */
  async find(
    volumeId: string,
    requestedDevice: string | undefined,
    boundMs = Number.POSITIVE_INFINITY,
  ): Promise<FoundDevice> {
    const names = [nvmeLinkName(volumeId)];
    if (requestedDevice) {
      const requested = basename(requestedDevice);
      names.push(requested, requested.replace(/^xvd/, 'sd'), requested.replace(/^sd/, 'xvd'));
    }
    const candidates = [...new Set(names)].map((name) => join(this.options.deviceDir, name));
    const waitMs = Math.min(this.timeoutMs, boundMs);
    return withProgressLog(
      {
        logger: this.logger,
        fields: { volumeId, looksFor: candidates.map((c) => basename(c)) },
        what: `the block device of EBS volume ${volumeId} to appear in ${this.options.deviceDir}`,
        ...(this.options.progressLogMs ? { everyMs: this.options.progressLogMs } : {}),
      },
      this.poll(volumeId, candidates, waitMs),
    );
  }

  private async poll(volumeId: string, candidates: readonly string[], waitMs: number): Promise<FoundDevice> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      for (const link of candidates) {
        const path = await realpath(link).catch(() => undefined);
        if (path !== undefined) {
          await this.verify(volumeId, link, path);
          return { path, link };
        }
      }
      if (Date.now() >= deadline) {
        throw StowageError.backendFailure(
          `volume ${volumeId} is attached to this instance but no block device for it appeared in ` +
            `${this.options.deviceDir} within ${Math.round(waitMs / 1000)} s (looked for ${candidates.map((c) => basename(c)).join(', ')})` +
            (waitMs < this.timeoutMs ? '; retry the mount' : ''),
        );
      }
      await new Promise((resolve) => setTimeout(resolve, this.pollMs));
    }
  }

  /** Throws a BackendFailure unless the device at `path` carries `volumeId`'s serial. */
  async verify(volumeId: string, link: string, path: string): Promise<void> {
    const kernelName = basename(path);
    const serial = await this.readSerial(kernelName);
    const expected = compactVolumeId(volumeId).toLowerCase();
    if (serial !== undefined) {
      const actual = serial.trim().toLowerCase().replace('-', '');
      if (actual !== expected) {
        throw StowageError.backendFailure(
          `refusing to use ${path} (found as ${link}) for volume ${volumeId}: its serial number is "${serial.trim()}", ` +
            `not ${compactVolumeId(volumeId)}, so it is another disk; nothing was formatted or mounted. Check the links in ${this.options.deviceDir}`,
        );
      }
      return;
    }
    if (basename(link).startsWith('nvme-')) {
      throw StowageError.backendFailure(
        `refusing to use ${path} (found as ${link}) for volume ${volumeId}: its serial number cannot be read under ` +
          `${join(this.options.sysfsRoot, 'block', kernelName)}, so it cannot be proved to be this volume; nothing was formatted or mounted`,
      );
    }
    // Xen block devices carry no serial: the name requested at attach is all EC2 gives, as for the EBS CSI driver.
    this.logger.warn(
      { volumeId, device: path, link },
      'device has no serial number to verify (Xen instance); trusting the attach device name',
    );
  }

  private async readSerial(kernelName: string): Promise<string | undefined> {
    const block = join(this.options.sysfsRoot, 'block', kernelName);
    for (const file of [join(block, 'device', 'serial'), join(block, 'serial')]) {
      const text = await readFile(file, 'utf8').catch(() => undefined);
      if (text !== undefined && text.trim() !== '') return text;
    }
    return undefined;
  }
}
