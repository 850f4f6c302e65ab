import { resolve } from 'node:path';
import { configValues, loadConfig, type LoadedConfig, StowageError } from '@stowage/core';
import { dockerConfigSection } from '../config/docker-config-section.js';
import { httpConfigSection, listenAddress, requireTokenOffLoopback } from '@stowage/http-api';

/**
 * The config sections every command reads beside core's: the Docker adapter's (`docker`) and the HTTP ops server's
 * (`http`). Every command loads both, so a config file made for `stowage serve` is accepted by the others too.
 */
export const CLI_SECTIONS = { docker: dockerConfigSection, http: httpConfigSection } as const;

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
  /** `stowage serve --http ADDR`: the HTTP ops server's address, over `http.listen`. */
  readonly http?: string;
  /** `stowage volume ... --api URL`, `stowage backings --api URL`: a remote node's /v1 API answers instead. */
  readonly api?: string;
  /** With {@link api}: the file holding its bearer token. */
  readonly tokenFile?: string;
}

/** The command line itself is wrong; the CLI exits 2, as for yargs' own validation errors. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The command failed and has already told the user why (one line per failure); the CLI exits 1. */
export class ReportedFailure extends Error {
  override readonly name = 'ReportedFailure';
}

/** What every command works from: core's configuration, the Docker adapter's own and the ops server's. */
export type CliConfig = LoadedConfig<typeof CLI_SECTIONS>;

/**
 * The configuration (file from `--config`, then the environment) with `--socket`, `--state-dir` and `--http`
 * applied last.
 */
export async function loadCliConfig(context: CliContext, args: ConnectionArgs): Promise<CliConfig> {
  const config = await loadConfig({
    file: args.config === undefined ? undefined : resolve(context.cwd, args.config),
    env: context.env,
    sections: CLI_SECTIONS,
  });
  const { docker } = config.sections;
  let { http } = config.sections;
  if (args.http !== undefined) {
    const parsed = listenAddress.safeParse(args.http);
    if (!parsed.success) throw StowageError.invalidArgument(`--http: ${parsed.error.issues[0]?.message}`);
    http = { ...http, listen: parsed.data };
    requireTokenOffLoopback(http);
  }
  return {
    ...config,
    stateDir: args.stateDir === undefined ? config.stateDir : resolve(context.cwd, args.stateDir),
    sections: {
      docker: { ...docker, socket: args.socket === undefined ? docker.socket : socketArgument(context, args.socket) },
      http,
    },
  };
}

/** Writes one line to a stream. */
export function writeLine(stream: NodeJS.WritableStream, line: string): void {
  stream.write(`${line}\n`);
}

/** `--socket`, resolved against the working directory and held to what a unix socket address can hold. */
function socketArgument(context: CliContext, value: string): string {
  const socket = resolve(context.cwd, value);
  const parsed = configValues.unixSocketPath.safeParse(socket);
  if (!parsed.success) throw StowageError.invalidArgument(`--socket: ${parsed.error.issues[0]?.message}`);
  return socket;
}
