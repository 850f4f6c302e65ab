import { SystemHostOperations, type HostOperations, type MountEntry, type MountOptions } from '@stowage/core';
import type { HostCall } from './fake-host.js';

/** The real host operations, with every mount and unmount kept for assertions. */
export class RecordingHost implements HostOperations {
  readonly calls: HostCall[] = [];

  constructor(private readonly inner: HostOperations = new SystemHostOperations()) {}

  mount(source: string, target: string, options?: MountOptions): Promise<void> {
    this.calls.push({ op: 'mount', source, target, ...(options ? { options } : {}) });
    return this.inner.mount(source, target, options);
  }
  bindMount(source: string, target: string): Promise<void> {
    this.calls.push({ op: 'bindMount', source, target });
    return this.inner.bindMount(source, target);
  }
  unmount(target: string): Promise<void> {
    this.calls.push({ op: 'unmount', target });
    return this.inner.unmount(target);
  }
  isMountpoint(path: string): Promise<boolean> {
    return this.inner.isMountpoint(path);
  }
  listMounts(under?: string): Promise<MountEntry[]> {
    return this.inner.listMounts(under);
  }
  mkfs(device: string, fstype: string, options?: { label?: string }): Promise<void> {
    return this.inner.mkfs(device, fstype, options);
  }
  probeFilesystem(device: string): Promise<string | undefined> {
    return this.inner.probeFilesystem(device);
  }

  /** The calls since the last {@link take}, and forgets them. */
  take(): HostCall[] {
    return this.calls.splice(0);
  }
}
