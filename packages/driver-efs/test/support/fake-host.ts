import type { HostOperations, MountEntry, MountOptions } from '@stowage/core';

/** One call the code under test made, with its arguments as given. */
export type HostCall =
  | { op: 'mount'; source: string; target: string; options?: MountOptions }
  | { op: 'bindMount'; source: string; target: string }
  | { op: 'unmount'; target: string };

/** Host operations that only record: a mount table in memory, every call kept for assertions. */
export class FakeHost implements HostOperations {
  readonly calls: HostCall[] = [];
  readonly mounted = new Map<string, string>();

  async mount(source: string, target: string, options?: MountOptions): Promise<void> {
    this.calls.push({ op: 'mount', source, target, ...(options ? { options } : {}) });
    this.mounted.set(target, source);
  }
  async bindMount(source: string, target: string): Promise<void> {
    this.calls.push({ op: 'bindMount', source, target });
    this.mounted.set(target, source);
  }
  async unmount(target: string): Promise<void> {
    this.calls.push({ op: 'unmount', target });
    this.mounted.delete(target);
  }
  async isMountpoint(path: string): Promise<boolean> {
    return this.mounted.has(path);
  }
  async listMounts(under?: string): Promise<MountEntry[]> {
    return [...this.mounted]
      .filter(([target]) => under === undefined || target === under || target.startsWith(`${under}/`))
      .map(([target, source]) => ({ source, target, fstype: 'fake', root: '/', options: [] }));
  }
  async mkfs(): Promise<void> {
    throw new Error('not used by the efs driver');
  }
  async probeFilesystem(): Promise<string | undefined> {
    throw new Error('not used by the efs driver');
  }

  count(op: HostCall['op']): number {
    return this.calls.filter((call) => call.op === op).length;
  }
}
