import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** The package root, where `dist/cli/main.js` is built. */
export const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = join(PACKAGE_DIR, 'dist', 'cli', 'main.js');

/**
 * Builds the package so the tests run the CLI as users do, from `dist/`: the unit tests' turbo task does not
 * build this package itself, only its dependencies.
 */
export async function buildCli(): Promise<void> {
  const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
  await promisify(execFile)(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: PACKAGE_DIR });
}

/** The environment of a CLI run: no STOWAGE_* variable of the caller leaks in, the test's own are added. */
export function cliEnv(vars: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('STOWAGE_')));
  return { ...env, ...vars };
}

/** How a CLI run ended. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `stowage <args>` to completion; a non-zero exit is a result, not an exception. */
export function runStowage(args: readonly string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI, ...args], { env, timeout: 30_000 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') {
        reject(error);
        return;
      }
      resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
    });
  });
}

/** A `stowage serve` running in the background. */
export interface ServeProcess {
  readonly child: ChildProcess;
  /** Everything it wrote to stdout so far (JSON log lines). */
  stdout(): string;
  /** Sends `signal` and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** The fields of the log line saying a `serve` or `csi` process listens (`http`: the ops server's URL or `off`). */
export function listeningLog(process: ServeProcess): Record<string, unknown> {
  const line = process
    .stdout()
    .split('\n')
    .find((l) => l.includes('plugin listening on'));
  if (line === undefined) throw new Error(`no "listening" line in:\n${process.stdout()}`);
  return JSON.parse(line) as Record<string, unknown>;
}

/** Starts `stowage serve` and resolves once it logs that it listens. */
export function startServe(env: NodeJS.ProcessEnv, args: readonly string[] = []): Promise<ServeProcess> {
  return startDaemon('serve', 'stowage plugin listening on', env, args);
}

/** Starts `stowage csi` and resolves once it logs that it listens. */
export function startCsi(env: NodeJS.ProcessEnv, args: readonly string[] = []): Promise<ServeProcess> {
  return startDaemon('csi', 'stowage CSI plugin listening on', env, args);
}

function startDaemon(
  command: string,
  listening: string,
  env: NodeJS.ProcessEnv,
  args: readonly string[],
): Promise<ServeProcess> {
  const child = spawn(process.execPath, [CLI, command, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const serve: ServeProcess = {
    child,
    stdout: () => out,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`stowage ${command} did not start within 15 s:\n${out}\n${err}`));
    }, 15_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      if (out.includes(listening)) {
        clearTimeout(timer);
        resolve(serve);
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString('utf8');
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`stowage ${command} exited with ${code} before listening:\n${out}\n${err}`));
    });
  });
}
