import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir, readFile, realpath, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { StowageError } from '../errors/stowage-error.js';
import type { Logger } from '../logging/logger.js';
import type { HostOperations, MountEntry, MountOptions } from './host-operations.js';
import { parseMountInfo } from './mountinfo.js';

const MOUNTINFO = '/proc/self/mountinfo';
const DEFAULT_COMMAND_TIMEOUT_MS = 120_000;

/** How each supported file system is made: forced (the caller has probed the device first) and quiet. */
const MKFS: Readonly<Record<string, { command: string; force: string; maxLabelBytes: number }>> = {
  ext4: { command: 'mkfs.ext4', force: '-F', maxLabelBytes: 16 },
  xfs: { command: 'mkfs.xfs', force: '-f', maxLabelBytes: 12 },
};

/** Exit status of `blkid -p` when it found nothing to report. */
const BLKID_NOTHING_FOUND = 2;

interface CommandResult {
  readonly stdout: string;
  readonly stderr: string;
}

interface ExecFailure extends Error {
  code?: number | string | null;
  killed?: boolean;
  signal?: NodeJS.Signals | null;
  stdout?: string;
  stderr?: string;
}

/** A failed command, kept apart from the StowageError so callers can look at the exit status first. */
class CommandFailure extends Error {
  constructor(
    readonly commandLine: string,
    readonly exitCode: number | undefined,
    detail: string,
    cause: unknown,
  ) {
    super(`${commandLine} ${detail}`, { cause });
  }
}

/** Options of {@link SystemHostOperations}. */
export interface SystemHostOperationsOptions {
  /** Receives a debug line (the argument array, never the environment) for every command run. */
  readonly logger?: Logger;
  /** How long one system command may run before it is killed; 120 s by default. */
  readonly commandTimeoutMs?: number;
}

/**
 * {@link HostOperations} on this machine: runs `mount`, `umount`, `mkfs.*` and `blkid` with argument arrays
 * (never through a shell, so volume names and paths cannot inject anything) and reads `/proc/self/mountinfo`.
 *
 * Every failure is a BackendFailure {@link StowageError} whose message names the command line, its exit status
 * and its stderr, because Docker shows that message to the user as is. Arguments that the tools would take for
 * options (a leading `-`) and relative mount targets are refused as InvalidArgument before anything runs.
 */
export class SystemHostOperations implements HostOperations {
  private readonly logger: Logger | undefined;
  private readonly commandTimeoutMs: number;

  constructor(options: SystemHostOperationsOptions = {}) {
    this.logger = options.logger;
    this.commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  }

  async mount(source: string, target: string, options: MountOptions = {}): Promise<void> {
    requireOperand('mount source', source);
    requireAbsolute('mount target', target);
    const args: string[] = [];
    if (options.fstype !== undefined) {
      requireOperand('file system type', options.fstype);
      args.push('-t', options.fstype);
    }
    if (options.options !== undefined && options.options.length > 0) args.push('-o', options.options.join(','));
    args.push(source, target);
    await makeDirectory(target);
    await this.runOrThrow('mount', args);
  }

  async bindMount(source: string, target: string): Promise<void> {
    requireAbsolute('bind mount source', source);
    requireAbsolute('bind mount target', target);
    // A bind mount needs a target of the same kind as its source: a file is bound onto a file.
    const sourceIsFile = await stat(source).then(
      (s) => !s.isDirectory(),
      () => false,
    );
    if (sourceIsFile) {
      await makeDirectory(path.dirname(target));
      await writeFile(target, '', { flag: 'a' }).catch((error: unknown) => {
        throw StowageError.backendFailure(`cannot create bind mount target ${target}: ${describe(error)}`, error);
      });
    } else {
      await makeDirectory(target);
    }
    await this.runOrThrow('mount', ['--bind', source, target]);
  }

  async unmount(target: string): Promise<void> {
    requireAbsolute('unmount target', target);
    if (!(await this.isMountpoint(target))) return;
    try {
      await this.run('umount', [await resolveExisting(target)]);
    } catch (error) {
      // Another process (or a concurrent release) may have unmounted it between our check and umount.
      if (error instanceof CommandFailure && !(await this.isMountpoint(target))) return;
      throw toStowageError(error);
    }
  }

  async isMountpoint(target: string): Promise<boolean> {
    const resolved = await resolveExisting(target);
    const mounts = await this.readMountTable();
    return mounts.some((mount) => mount.target === resolved);
  }

  async listMounts(under?: string): Promise<MountEntry[]> {
    const mounts = await this.readMountTable();
    if (under === undefined) return mounts;
    const root = await resolveExisting(under);
    // Compare whole path components: `/a/b` holds `/a/b/c` but not `/a/bc`.
    const prefix = root.endsWith('/') ? root : `${root}/`;
    return mounts.filter((mount) => mount.target === root || mount.target.startsWith(prefix));
  }

  async mkfs(device: string, fstype: string, options: { label?: string } = {}): Promise<void> {
    const recipe = Object.hasOwn(MKFS, fstype) ? MKFS[fstype] : undefined;
    if (recipe === undefined) {
      throw StowageError.invalidArgument(
        `cannot make a file system of type "${fstype}" on ${device}: supported types are ${Object.keys(MKFS).join(', ')}`,
      );
    }
    requireOperand('device', device);
    const args = [recipe.force, '-q'];
    if (options.label !== undefined) {
      const bytes = Buffer.byteLength(options.label);
      if (bytes === 0 || bytes > recipe.maxLabelBytes) {
        throw StowageError.invalidArgument(
          `file system label "${options.label}" must be 1 to ${recipe.maxLabelBytes} bytes long for ${fstype}`,
        );
      }
      args.push('-L', options.label);
    }
    args.push(device);
    await this.runOrThrow(recipe.command, args);
  }

  async probeFilesystem(device: string): Promise<string | undefined> {
    requireOperand('device', device);
    // `-p` probes the device itself, bypassing blkid's cache, which can be stale right after an attach or mkfs.
    // We ask for every tag rather than only TYPE: a disk with a partition table and no file system answers
    // exit 0 with no TYPE, and taking it for blank would let a caller format over its partitions.
    let result: CommandResult;
    try {
      result = await this.run('blkid', ['-p', '-o', 'export', device]);
    } catch (error) {
      if (!(error instanceof CommandFailure && error.exitCode === BLKID_NOTHING_FOUND)) throw toStowageError(error);
      // blkid also answers "nothing found" for a device it cannot open: a missing device is not a blank one.
      await access(device, constants.R_OK).catch((cause: unknown) => {
        throw StowageError.backendFailure(`cannot probe ${device} for a file system: ${describe(cause)}`, cause);
      });
      return undefined;
    }
    const tags = new Map<string, string>();
    for (const line of result.stdout.split('\n')) {
      const equals = line.indexOf('=');
      if (equals > 0) tags.set(line.slice(0, equals), line.slice(equals + 1));
    }
    const type = tags.get('TYPE');
    if (type !== undefined && type !== '') return type;
    const partitionTable = tags.get('PTTYPE');
    if (partitionTable !== undefined) {
      throw StowageError.backendFailure(
        `${device} holds a ${partitionTable} partition table and no file system; ` +
          'refusing to treat it as blank. Use a blank device, or one formatted with a file system.',
      );
    }
    return undefined;
  }

  private async readMountTable(): Promise<MountEntry[]> {
    let text: string;
    try {
      text = await readFile(MOUNTINFO, 'utf8');
    } catch (error) {
      throw StowageError.backendFailure(`cannot read the kernel mount table ${MOUNTINFO}: ${describe(error)}`, error);
    }
    return parseMountInfo(text);
  }

  private async runOrThrow(command: string, args: readonly string[]): Promise<CommandResult> {
    try {
      return await this.run(command, args);
    } catch (error) {
      throw toStowageError(error);
    }
  }

  /** Runs one command; rejects with a {@link CommandFailure} on a non-zero exit, a signal, a timeout or a spawn error. */
  private run(command: string, args: readonly string[]): Promise<CommandResult> {
    const commandLine = formatCommandLine(command, args);
    this.logger?.debug({ command: [command, ...args] }, 'running system command');
    return new Promise((resolve, reject) => {
      execFile(
        command,
        args,
        { timeout: this.commandTimeoutMs, encoding: 'utf8', maxBuffer: 4 * 1024 * 1024 },
        (error: ExecFailure | null, stdout, stderr) => {
          if (!error) {
            resolve({ stdout, stderr });
            return;
          }
          // One line for the user: tools like mount add indented continuation lines.
          const trimmed = (stderr || error.stderr || '').trim().replace(/\s*\n\s*/g, ' ');
          const failure = (exitCode: number | undefined, detail: string) =>
            reject(new CommandFailure(commandLine, exitCode, detail, error));
          if (typeof error.code === 'number') {
            failure(error.code, `failed (exit ${error.code})${trimmed ? `: ${trimmed}` : ''}`);
          } else if (error.killed && error.signal) {
            failure(undefined, `timed out after ${this.commandTimeoutMs / 1000} s and was killed (${error.signal})`);
          } else if (error.signal) {
            failure(undefined, `was killed by ${error.signal}${trimmed ? `: ${trimmed}` : ''}`);
          } else if (error.code === 'ENOENT') {
            failure(undefined, `failed: ${command} was not found on this host's PATH; install it`);
          } else {
            failure(undefined, `failed: ${error.message}`);
          }
        },
      );
    });
  }
}

function toStowageError(error: unknown): StowageError {
  if (error instanceof CommandFailure) return StowageError.backendFailure(error.message, error);
  return StowageError.wrap(error, 'host operation failed');
}

/** The command as a user would type it, for error messages: arguments with blanks or quotes are single-quoted. */
function formatCommandLine(command: string, args: readonly string[]): string {
  return [command, ...args]
    .map((arg) => (arg === '' || /[\s'"\\$`]/.test(arg) ? `'${arg.replaceAll("'", `'\\''`)}'` : arg))
    .join(' ');
}

/** Refuses operands the system tools would read as options: argument arrays stop a shell, not `getopt`. */
function requireOperand(what: string, value: string): void {
  if (value === '' || value.startsWith('-')) {
    throw StowageError.invalidArgument(`${what} "${value}" is not valid: it must be non-empty and not start with "-"`);
  }
}

function requireAbsolute(what: string, value: string): void {
  if (!path.isAbsolute(value)) {
    throw StowageError.invalidArgument(`${what} "${value}" must be an absolute path`);
  }
}

/** The canonical path the kernel would show for `target`; a path that does not exist is only normalised. */
async function resolveExisting(target: string): Promise<string> {
  return realpath(target).catch(() => path.resolve(target));
}

async function makeDirectory(directory: string): Promise<void> {
  try {
    await mkdir(directory, { recursive: true });
  } catch (error) {
    throw StowageError.backendFailure(`cannot create mount point ${directory}: ${describe(error)}`, error);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
