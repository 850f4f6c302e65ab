import { execFile } from 'node:child_process';

/** What a finished command printed and how it exited. */
export interface CommandResult {
  readonly stdout: string;
  readonly stderr: string;
  /** The exit status; -1 when the command could not be started or was killed by a signal. */
  readonly code: number;
}

export interface RunOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Milliseconds before the command is killed (its result then has code -1). */
  readonly timeoutMs?: number;
}

/**
 * Runs a system tool with an argument array (never a shell string) and resolves with what it printed. It never
 * rejects on a non-zero exit: the tests assert on failures as much as on successes.
 */
export function runCommand(file: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(
      file,
      [...args],
      { env: options.env ?? process.env, timeout: options.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (!error) {
          resolve({ stdout, stderr, code: 0 });
          return;
        }
        const code = typeof error.code === 'number' ? error.code : -1;
        const why = typeof error.code === 'number' ? '' : `${error.message}\n`;
        resolve({ stdout, stderr: `${stderr}${why}`, code });
      },
    );
  });
}

/** Like {@link runCommand}, but rejects with the command, its status and stderr unless it exits 0. */
export async function runChecked(file: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
  const result = await runCommand(file, args, options);
  if (result.code !== 0) {
    throw new Error(`${file} ${args.join(' ')} exited ${result.code}: ${result.stderr.trim() || result.stdout.trim()}`);
  }
  return result.stdout;
}
