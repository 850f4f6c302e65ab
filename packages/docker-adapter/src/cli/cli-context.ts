import { resolve } from 'node:path';
import { loadConfig, type LoadedConfig } from '@stowage/core';
import { DOCKER_SECTIONS } from '../config/docker-config-section.js';

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

/** What every command works from: core's configuration and the Docker adapter's own (`sections.docker`). */
export type CliConfig = LoadedConfig<typeof DOCKER_SECTIONS>;

/** The configuration (file from `--config`, then the environment) with `--socket` and `--state-dir` applied last. */
export async function loadCliConfig(context: CliContext, args: ConnectionArgs): Promise<CliConfig> {
  const config = await loadConfig({
    file: args.config === undefined ? undefined : resolve(context.cwd, args.config),
    env: context.env,
    sections: DOCKER_SECTIONS,
  });
  const { docker } = config.sections;
  return {
    ...config,
    stateDir: args.stateDir === undefined ? config.stateDir : resolve(context.cwd, args.stateDir),
    sections: {
      docker: { ...docker, socket: args.socket === undefined ? docker.socket : resolve(context.cwd, args.socket) },
    },
  };
}

/** Writes one line to a stream. */
export function writeLine(stream: NodeJS.WritableStream, line: string): void {
  stream.write(`${line}\n`);
}
