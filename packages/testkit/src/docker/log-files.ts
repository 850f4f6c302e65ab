import { mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Where the engine's and the plugin's logs go. Outside the temp directories that teardown removes, so they can
 * be read after a failed run; one file per test file and process, replaced by the next run.
 */
export const E2E_LOG_DIR = process.env.STOWAGE_E2E_LOG_DIR ?? join(tmpdir(), 'stowage-e2e-logs');

export function logFile(name: string): string {
  mkdirSync(E2E_LOG_DIR, { recursive: true });
  return join(E2E_LOG_DIR, name);
}

/** The last `lines` lines of a log file, for error messages; a note instead when it cannot be read. */
export async function logTail(file: string, lines = 40): Promise<string> {
  try {
    const text = await readFile(file, 'utf8');
    return `--- last ${lines} lines of ${file} ---\n${text.trimEnd().split('\n').slice(-lines).join('\n')}`;
  } catch (error) {
    return `(cannot read ${file}: ${(error as Error).message})`;
  }
}
