import { createRequire } from 'node:module';
import yargs, { type Argv } from 'yargs';
import { type CliContext, ReportedFailure, UsageError, writeLine } from './cli-context.js';
import { backingsCommand } from './commands/backings.js';
import { csiCommand } from './commands/csi.js';
import { serveCommand } from './commands/serve.js';
import { volumeCommand } from './commands/volume.js';

// yargs looks for package.json from the entry script's directory, which in dist/cli is not the package root.
const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

/** Exit statuses: 1 when a command fails, 2 when the command line is wrong. */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** The `stowage` yargs program; it throws instead of exiting, so {@link runCli} decides the exit status. */
export function buildProgram(context: CliContext, argv: readonly string[]): Argv {
  return yargs([...argv])
    .scriptName('stowage')
    .usage('$0 <command>\n\nStowage: pluggable Docker volumes (local, relocatable, shared).')
    .option('config', { type: 'string', global: true, describe: 'Configuration file (JSON)' })
    .command(serveCommand(context))
    .command(volumeCommand(context))
    .command(csiCommand(context))
    .command(backingsCommand(context))
    .demandCommand(1, 'give a command: serve, csi, volume or backings')
    .middleware(refuseRepeatedOptions, true)
    .strict()
    .help()
    .alias('help', 'h')
    .version(version)
    .wrap(Math.min(110, process.stdout.columns ?? 110))
    .exitProcess(false)
    .fail((message, error) => {
      // A handler's own error passes through as is; anything else is yargs rejecting the command line.
      throw error ?? new UsageError(message);
    });
}

/**
 * Refuses an option given twice (`--socket a --socket b`): yargs would hand the command an array where it declared a
 * string, and which one was meant is a guess. `--opt` (and its alias) and the volume names are meant to repeat.
 */
function refuseRepeatedOptions(args: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(args)) {
    // yargs keeps `--state-dir` under both spellings: the kebab one is checked, its camelCase copy skipped.
    if (REPEATABLE.has(key) || /[A-Z]/.test(key) || !Array.isArray(value)) continue;
    throw new UsageError(`${key.length === 1 ? '-' : '--'}${key} is given more than once; give it once`);
  }
}

const REPEATABLE = new Set(['_', 'opt', 'o', 'names']);

/** Runs the CLI on `argv` (without node and the script) and resolves with the exit status; never throws. */
export async function runCli(context: CliContext, argv: readonly string[]): Promise<number> {
  try {
    await buildProgram(context, argv).parseAsync();
    return 0;
  } catch (error) {
    if (error instanceof ReportedFailure) return EXIT_FAILURE;
    const message = error instanceof Error ? error.message : String(error);
    writeLine(context.stderr, `stowage: ${message}`);
    if (error instanceof UsageError || (error instanceof Error && error.name === 'YError')) {
      writeLine(context.stderr, `Run '${helpCommand(argv)}' for usage.`);
      return EXIT_USAGE;
    }
    return EXIT_FAILURE;
  }
}

const COMMAND_WORDS = new Set([
  'serve',
  'csi',
  'volume',
  'create',
  'ls',
  'list',
  'inspect',
  'rm',
  'remove',
  'backings',
]);

/** `stowage volume create --help` for an error in `stowage volume create ...`. */
function helpCommand(argv: readonly string[]): string {
  const words: string[] = [];
  for (const arg of argv) {
    if (!COMMAND_WORDS.has(arg)) break;
    words.push(arg);
  }
  return ['stowage', ...words, '--help'].join(' ');
}
