import { readFile } from 'node:fs/promises';
import { Mutex } from 'async-mutex';
import writeFileAtomic from 'write-file-atomic';
import { StowageError } from '../errors/stowage-error.js';
import type { MountRecord } from './mount-record.js';

interface MountTableFile {
  readonly version: 1;
  readonly volumes: Record<string, MountRecord>;
}

/**
 * This node's persisted mount table: which volumes are mounted here, for whom. Every change is written
 * atomically (temp file, fsync, rename) before the engine answers, so a restart, even after `kill -9`,
 * knows exactly what callers hold.
 */
export class MountTable {
  private records = new Map<string, MountRecord>();
  // Writes are whole-table snapshots; serialising them keeps an older snapshot from landing after a newer one.
  private readonly writeLock = new Mutex();

  constructor(private readonly file: string) {}

  async load(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        this.records = new Map();
        return;
      }
      throw StowageError.backendFailure(`cannot read the mount table ${this.file}: ${(error as Error).message}`, error);
    }
    let parsed: MountTableFile;
    try {
      parsed = JSON.parse(text) as MountTableFile;
      if (parsed.version !== 1 || typeof parsed.volumes !== 'object' || parsed.volumes === null) {
        throw new Error('unknown format');
      }
    } catch (error) {
      // Refusing to start is better than forgetting what callers hold: the operator must look at it.
      throw StowageError.backendFailure(
        `the mount table ${this.file} is unreadable (${(error as Error).message}); move it aside to start without it, ` +
          'then check for leftover mounts',
        error,
      );
    }
    this.records = new Map(Object.entries(parsed.volumes));
  }

  get(name: string): MountRecord | undefined {
    return this.records.get(name);
  }

  entries(): Array<[string, MountRecord]> {
    return [...this.records.entries()];
  }

  async set(name: string, record: MountRecord): Promise<void> {
    this.records.set(name, record);
    await this.persist();
  }

  async delete(name: string): Promise<void> {
    if (this.records.delete(name)) await this.persist();
  }

  private async persist(): Promise<void> {
    await this.writeLock.runExclusive(async () => {
      const snapshot: MountTableFile = { version: 1, volumes: Object.fromEntries(this.records) };
      await writeFileAtomic(this.file, JSON.stringify(snapshot), { mode: 0o600, fsync: true });
    });
  }
}
