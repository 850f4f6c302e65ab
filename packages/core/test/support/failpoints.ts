import { vi } from 'vitest';

/** What an armed failpoint throws in these tests, where a real one would SIGKILL the process. */
export class Killed extends Error {
  override readonly name = 'Killed';
}

/**
 * Loads fresh copies of the modules `load` imports with `STOWAGE_FAILPOINTS=<points>` (the failpoint module reads it
 * once, when it loads), and makes an armed point throw {@link Killed} instead of killing the test process. In process,
 * so that a mutation run sees the code under test; the SIGKILL tests (mount-table-crash, the adapter's crash harness)
 * prove the same against a real kill. Code after the point never runs, as after a kill; `finally` blocks on the way
 * out do, which the tests account for. Undo with `vi.restoreAllMocks()`.
 */
export async function loadWithFailpoints<T>(points: string, load: () => Promise<T>): Promise<T> {
  const kill = process.kill.bind(process);
  vi.spyOn(process, 'kill').mockImplementation((pid: number, signal?: string | number) => {
    if (pid === process.pid && signal === 'SIGKILL') throw new Killed('killed at a failpoint');
    return kill(pid, signal);
  });
  vi.resetModules();
  vi.stubEnv('STOWAGE_FAILPOINTS', points);
  try {
    return await load();
  } finally {
    vi.unstubAllEnvs();
  }
}
