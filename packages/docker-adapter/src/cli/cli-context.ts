import { resolve } from 'node:path';
import { loadConfig, type StowageConfig } from '@stowage/core';

/** What a command may touch of the outside world; `main` passes the process's own. */
export interface CliContext {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

/** Options every command accepts. */
export interface GlobalArgs {
  readonly config?: string;
}

/** Options of the commands that reach the plugin or its state: `--socket` and `--state-dir`. */
export interface ConnectionArgs extends GlobalArgs {
  readonly socket?: string;
  readonly stateDir?: string;
}

/** The command line itself is wrong; the CLI exits 2, as for yargs' own validation errors. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The command failed and has already told the user why (one line per failure); the CLI exits 1. */
export class ReportedFailure extends Error {
  override readonly name = 'ReportedFailure';
}

/** The configuration (file from `--config`, then the environment) with `--socket` and `--state-dir` applied last. */
export async function loadCliConfig(context: CliContext, args: ConnectionArgs): Promise<StowageConfig> {
  const config = await loadConfig({
    file: args.config === undefined ? undefined : resolve(context.cwd, args.config),
    env: context.env,
  });
  return {
    ...config,
    socket: args.socket === undefined ? config.socket : resolve(context.cwd, args.socket),
    stateDir: args.stateDir === undefined ? config.stateDir : resolve(context.cwd, args.stateDir),
  };
}

/** Writes one line to a stream. */
export function writeLine(stream: NodeJS.WritableStream, line: string): void {
  stream.write(`${line}\n`);
}
