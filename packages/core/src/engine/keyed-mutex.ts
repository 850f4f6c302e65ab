import { Mutex } from 'async-mutex';

/**
 * Serialises work per key (a volume name) while letting different keys run in parallel. Mutexes exist only while
 * someone holds or waits for them, so memory follows concurrency, not the number of volumes ever seen.
 */
export class KeyedMutex {
  private readonly entries = new Map<string, { mutex: Mutex; users: number }>();

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { mutex: new Mutex(), users: 0 };
      this.entries.set(key, entry);
    }
    entry.users += 1;
    try {
      return await entry.mutex.runExclusive(work);
    } finally {
      entry.users -= 1;
      if (entry.users === 0) this.entries.delete(key);
    }
  }

  /** Keys currently held or awaited (for tests and diagnostics). */
  get activeKeys(): number {
    return this.entries.size;
  }
}
