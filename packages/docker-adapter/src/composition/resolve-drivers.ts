import { stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { StowageError, type StowageConfig, type StowageDriver } from '@stowage/core';
import { FIRST_PARTY_DRIVERS } from './first-party-drivers.js';

/** Options of {@link resolveDrivers}. */
export interface ResolveDriversOptions {
  /** Where third-party package names are resolved from and relative module paths are relative to. */
  readonly cwd: string;
}

/**
 * Loads the driver definition of every driver enabled in `config.drivers`, in config order.
 *
 * A driver's `module` (a package name, or a path) wins; otherwise a first-party name maps to its package
 * ({@link FIRST_PARTY_DRIVERS}). The module must export `driver` (or `default`) shaped like a {@link StowageDriver}
 * whose `name` is the name it is enabled under. Every failure is an InvalidArgument StowageError naming the driver
 * and the module.
 */
export async function resolveDrivers(
  config: Pick<StowageConfig, 'drivers'>,
  options: ResolveDriversOptions,
): Promise<StowageDriver[]> {
  const drivers: StowageDriver[] = [];
  for (const [name, driverConfig] of Object.entries(config.drivers)) {
    const specifier = driverConfig.module ?? FIRST_PARTY_DRIVERS[name];
    if (specifier === undefined) {
      throw StowageError.invalidArgument(
        `unknown driver "${name}": say where to load it from with drivers.${name}.module in the config file ` +
          `or STOWAGE_${name.toUpperCase()}_MODULE (a package name or the path of its entry file)`,
      );
    }
    const loaded = await importDriverModule(name, specifier, driverConfig.module === undefined, options.cwd);
    drivers.push(checkDriver(name, specifier, loaded));
  }
  return drivers;
}

function isPath(specifier: string): boolean {
  return specifier.startsWith('.') || isAbsolute(specifier) || specifier.startsWith('file:');
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

async function importDriverModule(name: string, specifier: string, firstParty: boolean, cwd: string): Promise<unknown> {
  let url: string;
  if (firstParty) {
    // Our own dependency: resolved from this package, wherever the user runs the CLI.
    url = specifier;
  } else if (specifier.startsWith('file:')) {
    url = specifier;
  } else if (isPath(specifier) || (await isFile(resolve(cwd, specifier)))) {
    // `dist/index.js` with no leading ./ is a path too when that file is there: what the user meant.
    url = pathToFileURL(resolve(cwd, specifier)).href;
  } else {
    url = resolvePackage(name, specifier, cwd);
  }
  try {
    return await import(url);
  } catch (error) {
    const hint = firstParty ? ` (is ${specifier} installed?)` : '';
    throw StowageError.invalidArgument(
      `driver "${name}": cannot load module "${specifier}"${hint}: ${(error as Error).message}`,
      error,
    );
  }
}

/** The file URL of package `specifier` as installed under `cwd`. */
function resolvePackage(name: string, specifier: string, cwd: string): string {
  try {
    // import() would resolve a bare name from this package's node_modules, not the user's. The file name given to
    // createRequire is only where the search starts; it need not exist, and never appears in a message.
    return pathToFileURL(createRequire(join(resolve(cwd), 'package.json')).resolve(specifier)).href;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // Node's own message lists a "require stack" of that start file, which tells the user nothing.
    const reason =
      code === 'MODULE_NOT_FOUND'
        ? `it is neither a file there nor an installed package`
        : ((error as Error).message.split('\n')[0] ?? String(error));
    throw StowageError.invalidArgument(
      `driver "${name}": cannot find module "${specifier}" from ${cwd}: ${reason}`,
      error,
    );
  }
}

function checkDriver(name: string, specifier: string, loaded: unknown): StowageDriver {
  const exports = (loaded ?? {}) as { driver?: unknown; default?: unknown };
  const candidate = exports.driver ?? exports.default;
  const shapeHint = 'a StowageDriver (name, settings, create or module) exported as `driver` or as the default export';
  if (candidate === undefined) {
    throw StowageError.invalidArgument(
      `driver "${name}": module "${specifier}" exports no driver; expected ${shapeHint}`,
    );
  }
  const problems = driverShapeProblems(candidate);
  if (problems.length > 0) {
    throw StowageError.invalidArgument(
      `driver "${name}": module "${specifier}" does not export ${shapeHint}: ${problems.join(', ')}`,
    );
  }
  const driver = candidate as StowageDriver;
  if (driver.name !== name) {
    throw StowageError.invalidArgument(
      `driver "${name}": module "${specifier}" provides driver "${driver.name}"; enable it as drivers.${driver.name}`,
    );
  }
  return driver;
}

function driverShapeProblems(candidate: unknown): string[] {
  if (typeof candidate !== 'object' || candidate === null)
    return [`got ${candidate === null ? 'null' : typeof candidate}`];
  const { name, settings, create, module } = candidate as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof name !== 'string' || name === '') problems.push('name is not a non-empty string');
  // defineDriver always fills settings in; a hand-made definition may leave them out when it has none.
  if (settings !== undefined && !Array.isArray(settings)) problems.push('settings is not an array');
  if (typeof create !== 'function' && typeof module !== 'function')
    problems.push('neither create nor module is a function');
  return problems;
}
