import { mkdir } from 'node:fs/promises';
import type { HostOperations, MountEntry, MountOptions } from '@stowage/core';

/**
 * A mount table in memory: the bind mounts NodePublish makes, without root. Targets are created on disk as the real
 * `mount` does, so the service's own removal of the target is real. `failNextMount` makes the next mount throw.
 */
export class FakeHost implements HostOperations {
  readonly mounts: MountEntry[] = [];
  failNextMount?: Error;

  async mount(source: string, target: string, options: MountOptions = {}): Promise<void> {
    await mkdir(target, { recursive: true });
    const failure = this.failNextMount;
    if (failure) {
      this.failNextMount = undefined;
      throw failure;
    }
    const flags = options.options ?? [];
    this.mounts.push({
      source,
      target,
      fstype: 'none',
      root: source,
      options: [flags.includes('ro') ? 'ro' : 'rw', ...flags.filter((f) => f !== 'ro' && f !== 'bind')],
    });
  }

  async bindMount(source: string, target: string): Promise<void> {
    await this.mount(source, target, { options: ['bind'] });
  }

  async unmount(target: string): Promise<void> {
    const index = this.mounts.findLastIndex((m) => m.target === target);
    if (index >= 0) this.mounts.splice(index, 1);
  }

  async isMountpoint(path: string): Promise<boolean> {
    return this.mounts.some((m) => m.target === path);
  }

  async listMounts(under?: string): Promise<MountEntry[]> {
    if (under === undefined) return [...this.mounts];
    return this.mounts.filter((m) => m.target === under || m.target.startsWith(`${under}/`));
  }

  async mkfs(): Promise<void> {
    throw new Error('FakeHost: mkfs is not used by the CSI adapter');
  }

  async probeFilesystem(): Promise<string | undefined> {
    throw new Error('FakeHost: probeFilesystem is not used by the CSI adapter');
  }
}
