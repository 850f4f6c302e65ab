import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { defineConfigSection } from '../src/config/config-section.js';
import { configValues } from '../src/config/config-values.js';
import {
  DEFAULT_STATE_DIR,
  driverSettingEnvName,
  loadConfig,
  type LoadConfigInput,
} from '../src/config/load-config.js';
import type { ConfigSections } from '../src/config/config-section.js';
import { ErrorKind } from '../src/errors/error-kind.js';
import { expectStowageError } from '../src/testing/expect-stowage-error.js';

let dir: string;
let counter = 0;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'stowage-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes `content` (JSON-encoded unless a string) to a fresh file under `sub` and returns its path. */
async function configFile(content: unknown, sub = '.'): Promise<string> {
  const folder = path.join(dir, sub);
  await mkdir(folder, { recursive: true });
  const file = path.join(folder, `config-${++counter}.json`);
  await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

/** The message of the InvalidArgument `loadConfig(input)` rejects with; fails on any other outcome. */
async function configError<S extends ConfigSections>(input: LoadConfigInput<S>): Promise<string> {
  const { message } = await expectStowageError(loadConfig(input), ErrorKind.InvalidArgument);
  expect(message).toMatch(/^config: /);
  return message;
}

describe('loadConfig defaults', () => {
  it('runs the local driver on the default state directory with no file and no environment', async () => {
    expect(await loadConfig({ env: {} })).toEqual({
      stateDir: '/var/lib/stowage',
      logLevel: 'info',
      drivers: { local: { settings: {} } },
      sections: {},
    });
    expect(DEFAULT_STATE_DIR).toBe('/var/lib/stowage');
  });

  it('enables local when the file names no driver', async () => {
    const file = await configFile({ drivers: {} });
    expect((await loadConfig({ file, env: {} })).drivers).toEqual({ local: { settings: {} } });
  });

  it('takes empty environment variables for unset ones, as a managed plugin declares them', async () => {
    const config = await loadConfig({
      env: { STOWAGE_STATE_DIR: '', STOWAGE_DRIVERS: '', STOWAGE_LOG_LEVEL: '', STOWAGE_LOCAL_ROOT: '' },
    });
    expect(config.stateDir).toBe(DEFAULT_STATE_DIR);
    expect(config.logLevel).toBe('info');
    expect(config.drivers).toEqual({ local: { settings: {} } });
  });
});

describe('loadConfig from a file', () => {
  it('reads every key, keeping setting types', async () => {
    // Every key is in its final form (absolute paths, a package name as module), so it comes back unchanged.
    const content = {
      stateDir: '/srv/stowage',
      defaultBacking: 'relocatable',
      logLevel: 'debug',
      drivers: {
        local: { settings: { root: '/srv/volumes' } },
        ebs: { module: '@stowage/driver-ebs', settings: { clusterId: 'c1', snapshotMinutes: 5, encrypted: true } },
      },
    };
    const file = await configFile(content);
    expect(await loadConfig({ file, env: {} })).toEqual({ ...content, sections: {} });
  });

  it('resolves relative module paths against the file’s directory and keeps package names and absolute paths', async () => {
    const file = await configFile(
      {
        drivers: {
          mine: { module: './drivers/mine.js' },
          up: { module: '../shared/up.js' },
          pkg: { module: 'stowage-driver-foo' },
          abs: { module: '/opt/drivers/abs.js' },
          bare: { module: 'dist/bare.js' },
        },
      },
      'etc',
    );
    await mkdir(path.join(dir, 'etc', 'dist'), { recursive: true });
    await writeFile(path.join(dir, 'etc', 'dist', 'bare.js'), '');
    const { drivers } = await loadConfig({ file, env: {} });
    // A path written without ./ is still a path when the file is there (the guide's `dist/index.js`).
    expect(drivers['bare']?.module).toBe(path.join(dir, 'etc', 'dist', 'bare.js'));
    expect(drivers['mine']?.module).toBe(path.join(dir, 'etc', 'drivers', 'mine.js'));
    expect(drivers['up']?.module).toBe(path.join(dir, 'shared', 'up.js'));
    expect(drivers['pkg']?.module).toBe('stowage-driver-foo');
    expect(drivers['abs']?.module).toBe('/opt/drivers/abs.js');
  });
});

describe('loadConfig from the environment', () => {
  it('overrides the file’s global keys', async () => {
    const file = await configFile({
      stateDir: '/srv/a',
      defaultBacking: 'local',
      logLevel: 'warn',
    });
    const config = await loadConfig({
      file,
      env: {
        STOWAGE_STATE_DIR: '/srv/b',
        STOWAGE_DEFAULT_BACKING: 'shared',
        STOWAGE_LOG_LEVEL: 'trace',
      },
    });
    expect(config).toMatchObject({
      stateDir: '/srv/b',
      defaultBacking: 'shared',
      logLevel: 'trace',
    });
  });

  it('maps STOWAGE_<DRIVER>_<SETTING> to camelCase settings, as strings, over the file’s', async () => {
    const file = await configFile({
      drivers: { ebs: { settings: { clusterId: 'from-file', region: 'eu-west-1', size: 10 } } },
    });
    const { drivers } = await loadConfig({
      file,
      env: { STOWAGE_EBS_CLUSTER_ID: 'from-env', STOWAGE_EBS_SNAPSHOT_INTERVAL_MINUTES: '5' },
    });
    expect(drivers).toEqual({
      ebs: { settings: { clusterId: 'from-env', region: 'eu-west-1', size: 10, snapshotIntervalMinutes: '5' } },
    });
  });

  it('sets the default local driver’s settings from the environment alone', async () => {
    const config = await loadConfig({ env: { STOWAGE_LOCAL_ROOT: '/data/volumes' } });
    expect(config.drivers).toEqual({ local: { settings: { root: '/data/volumes' } } });
  });

  it('lets STOWAGE_DRIVERS replace the file’s set, keeping the file’s settings for names in both', async () => {
    const file = await configFile({
      drivers: { local: { settings: { root: '/srv/v' } }, ebs: { settings: { clusterId: 'c1' } } },
    });
    const { drivers } = await loadConfig({
      file,
      env: { STOWAGE_DRIVERS: ' ebs , efs,ebs', STOWAGE_EFS_FILE_SYSTEM_ID: 'fs-1' },
    });
    expect(drivers).toEqual({
      ebs: { settings: { clusterId: 'c1' } },
      efs: { settings: { fileSystemId: 'fs-1' } },
    });
  });

  it('ignores variables of drivers that are not enabled, and never reads the global ones as settings', async () => {
    const { drivers } = await loadConfig({
      env: {
        STOWAGE_DRIVERS: 'local,state',
        STOWAGE_EBS_CLUSTER_ID: 'ignored',
        STOWAGE_EBS_MODULE: './ignored.js',
        STOWAGE_STATE_DIR: '/srv/state',
        STOWAGE_STATE_MODE: 'x',
        STOWAGE_LOCALX_ROOT: 'ignored',
      },
    });
    expect(drivers).toEqual({ local: { settings: {} }, state: { settings: { mode: 'x' } } });
  });

  it('takes a module from STOWAGE_<DRIVER>_MODULE, relative paths against the working directory', async () => {
    const file = await configFile({ drivers: { mine: { module: './file-module.js' } } });
    const { drivers } = await loadConfig({
      file,
      env: {
        STOWAGE_DRIVERS: 'mine,pkg,bare,named',
        STOWAGE_MINE_MODULE: './env-module.js',
        STOWAGE_PKG_MODULE: '@acme/stowage-pkg',
        // A file of the working directory (the package's, under vitest), written without ./.
        STOWAGE_BARE_MODULE: 'package.json',
        STOWAGE_NAMED_MODULE: 'stowage-driver-absent',
      },
    });
    expect(drivers['mine']).toEqual({ module: path.resolve('env-module.js'), settings: {} });
    expect(drivers['pkg']).toEqual({ module: '@acme/stowage-pkg', settings: {} });
    expect(drivers['bare']).toEqual({ module: path.resolve('package.json'), settings: {} });
    expect(drivers['named']).toEqual({ module: 'stowage-driver-absent', settings: {} });
  });

  it('reads process.env when no environment is passed', async () => {
    const saved = process.env['STOWAGE_STATE_DIR'];
    process.env['STOWAGE_STATE_DIR'] = '/srv/from-process-env';
    try {
      expect((await loadConfig()).stateDir).toBe('/srv/from-process-env');
    } finally {
      if (saved === undefined) delete process.env['STOWAGE_STATE_DIR'];
      else process.env['STOWAGE_STATE_DIR'] = saved;
    }
  });
});

describe('loadConfig validation', () => {
  it('names a missing config file', async () => {
    const file = path.join(dir, 'absent.json');
    const message = await configError({ file, env: {} });
    expect(message).toContain(`config: cannot read config file ${file}: `);
    expect(message).toContain('ENOENT');
  });

  it('names an unreadable config file (a directory)', async () => {
    expect(await configError({ file: dir, env: {} })).toContain(`cannot read config file ${dir}: `);
  });

  it('names malformed JSON with the parser’s message', async () => {
    const file = await configFile('{ "stateDir": "/srv/x", }');
    const message = await configError({ file, env: {} });
    expect(message).toMatch(new RegExp(`^config: ${file} is not valid JSON: .+`));
    let parserMessage = '';
    try {
      JSON.parse('{ "stateDir": "/srv/x", }');
    } catch (error) {
      parserMessage = (error as Error).message;
    }
    expect(message).toContain(parserMessage);
  });

  it('refuses a "__proto__" key anywhere instead of dropping it, and takes other Object.prototype names as names', async () => {
    const file = await configFile('{ "drivers": { "local": { "settings": { "__proto__": { "dir": "/evil" } } } } }');
    expect(await configError({ file, env: {} })).toBe(
      `config: ${file}: key "__proto__" at drivers.local.settings is not a valid name`,
    );
    const named = await configFile({ drivers: { constructor: { module: '/opt/d.js', settings: { toString: 'x' } } } });
    const config = await loadConfig({ file: named, env: {} });
    expect(Object.keys(config.drivers)).toEqual(['constructor']);
    expect(config.drivers['constructor']?.settings).toEqual({ toString: 'x' });
  });

  it('refuses a file that is not a JSON object', async () => {
    const file = await configFile('[]');
    expect(await configError({ file, env: {} })).toContain(`config: ${file}: `);
  });

  it('refuses unknown keys at the top and in a driver', async () => {
    const top = await configFile({ stateDirr: '/srv/x' });
    expect(await configError({ file: top, env: {} })).toBe(`config: ${top}: unknown key "stateDirr"`);
    const inDriver = await configFile({ drivers: { local: { setings: {} } } });
    expect(await configError({ file: inDriver, env: {} })).toBe(
      `config: ${inDriver}: drivers.local: unknown key "setings"`,
    );
  });

  it('requires an absolute state directory, in the file and in the environment', async () => {
    const file = await configFile({ stateDir: 'var/lib/stowage' });
    expect(await configError({ file, env: {} })).toBe(
      `config: ${file}: stateDir: must be an absolute path, got "var/lib/stowage"`,
    );
    expect(await configError({ env: { STOWAGE_STATE_DIR: '.' } })).toBe(
      'config: STOWAGE_STATE_DIR: must be an absolute path, got "."',
    );
  });

  it('requires a known log level', async () => {
    const expected = 'must be one of trace, debug, info, warn, error, fatal, silent, got "verbose"';
    expect(await configError({ env: { STOWAGE_LOG_LEVEL: 'verbose' } })).toBe(`config: STOWAGE_LOG_LEVEL: ${expected}`);
    const file = await configFile({ logLevel: 'verbose' });
    expect(await configError({ file, env: {} })).toBe(`config: ${file}: logLevel: ${expected}`);
  });

  it('requires driver names of lower-case letters and digits', async () => {
    const file = await configFile({ drivers: { My_Driver: {} } });
    expect(await configError({ file, env: {} })).toBe(
      `config: ${file}: drivers.My_Driver: driver name "My_Driver" must be lower-case letters and digits, starting with a letter`,
    );
    expect(await configError({ env: { STOWAGE_DRIVERS: 'local,2fast' } })).toBe(
      'config: STOWAGE_DRIVERS: driver name "2fast" must be lower-case letters and digits, starting with a letter',
    );
    expect(await configError({ env: { STOWAGE_DRIVERS: ' , ' } })).toBe(
      'config: STOWAGE_DRIVERS: names no driver, got " , "',
    );
  });

  it('requires setting values to be strings, numbers or booleans and modules to be non-empty', async () => {
    const file = await configFile({ drivers: { local: { module: '', settings: { root: ['/a'] } } } });
    const message = await configError({ file, env: {} });
    expect(message).toContain('drivers.local.module: must be a package name or a path, not empty');
    expect(message).toContain('drivers.local.settings.root: must be a string, a number or a boolean, got ["/a"]');
  });

  it('refuses a driver variable that is not upper snake case', async () => {
    expect(await configError({ env: { STOWAGE_LOCAL_root: '/x' } })).toContain(
      'config: STOWAGE_LOCAL_root: "root" is not a setting name',
    );
  });
});

/** A section as issue 13's HTTP adapter might declare it: one file key holding an object, two variables. */
const httpSection = defineConfigSection({
  fileKeys: {
    http: z.strictObject({ listen: z.string().min(1).optional(), tokenFile: configValues.absolutePath.optional() }),
  },
  envNames: ['STOWAGE_HTTP_LISTEN', 'STOWAGE_HTTP_TOKEN_FILE'],
  resolve(file, env) {
    return {
      listen: env.read('STOWAGE_HTTP_LISTEN', z.string()) ?? file.http?.listen ?? '127.0.0.1:7070',
      tokenFile: env.read('STOWAGE_HTTP_TOKEN_FILE', configValues.absolutePath) ?? file.http?.tokenFile,
    };
  },
});

describe('loadConfig with config sections', () => {
  it('accepts a section’s keys in the file and returns its value, the environment over the file', async () => {
    const file = await configFile({ stateDir: '/srv/s', http: { listen: '0.0.0.0:80', tokenFile: '/etc/token' } });
    const config = await loadConfig({ file, env: {}, sections: { http: httpSection } });
    expect(config).toEqual({
      stateDir: '/srv/s',
      logLevel: 'info',
      drivers: { local: { settings: {} } },
      sections: { http: { listen: '0.0.0.0:80', tokenFile: '/etc/token' } },
    });
    const env = { STOWAGE_HTTP_LISTEN: '[::1]:9000', STOWAGE_HTTP_TOKEN_FILE: '' };
    expect((await loadConfig({ file, env, sections: { http: httpSection } })).sections.http).toEqual({
      listen: '[::1]:9000',
      tokenFile: '/etc/token',
    });
  });

  it('resolves a section with its defaults when neither the file nor the environment sets it', async () => {
    const { sections } = await loadConfig({ env: {}, sections: { http: httpSection } });
    expect(sections.http).toEqual({ listen: '127.0.0.1:7070', tokenFile: undefined });
  });

  it('never reads a section’s variables as settings of a driver of the same prefix', async () => {
    const env = {
      STOWAGE_DRIVERS: 'local,http',
      STOWAGE_HTTP_LISTEN: '0.0.0.0:80',
      STOWAGE_HTTP_TOKEN_FILE: '/etc/token',
      STOWAGE_HTTP_PATH: '/srv/h',
    };
    const withSection = await loadConfig({ env, sections: { http: httpSection } });
    expect(withSection.drivers['http']).toEqual({ settings: { path: '/srv/h' } });
    // Without the section, nothing says the variables are not the driver's.
    const alone = await loadConfig({ env });
    expect(alone.drivers['http']).toEqual({
      settings: { listen: '0.0.0.0:80', tokenFile: '/etc/token', path: '/srv/h' },
    });
  });

  it('refuses bad section values with the file or the variable named, like core’s own', async () => {
    const file = await configFile({ http: { tokenFile: 'token', port: 80 } });
    const message = await configError({ file, env: {}, sections: { http: httpSection } });
    expect(message).toContain(`config: ${file}: `);
    expect(message).toContain('http.tokenFile: must be an absolute path, got "token"');
    expect(message).toContain('http: unknown key "port"');
    expect(await configError({ env: { STOWAGE_HTTP_TOKEN_FILE: 'token' }, sections: { http: httpSection } })).toBe(
      'config: STOWAGE_HTTP_TOKEN_FILE: must be an absolute path, got "token"',
    );
  });

  it('has core alone refuse a section’s key as unknown, unless told to ignore keys it does not know', async () => {
    const file = await configFile({ stateDir: '/srv/shared', http: { listen: ':80' }, drivers: { local: {} } });
    expect(await configError({ file, env: {} })).toBe(`config: ${file}: unknown key "http"`);
    const config = await loadConfig({ file, env: {}, unknownKeys: 'ignore' });
    expect(config).toEqual({
      stateDir: '/srv/shared',
      logLevel: 'info',
      drivers: { local: { settings: {} } },
      sections: {},
    });
    // Ignoring is for foreign top-level keys only: core's own keys are still checked.
    const typo = await configFile({ http: {}, drivers: { local: { setings: {} } }, logLevel: 'loud' });
    const message = await configError({ file: typo, env: {}, unknownKeys: 'ignore' });
    expect(message).toContain('drivers.local: unknown key "setings"');
    expect(message).toContain('logLevel: must be one of');
  });

  it('refuses a section that claims a key or a variable someone else owns, or reads one it did not declare', async () => {
    const stealsKey = defineConfigSection({ fileKeys: { stateDir: z.string() }, envNames: [], resolve: () => 1 });
    await expect(loadConfig({ env: {}, sections: { thief: stealsKey } })).rejects.toThrow(
      'config section "thief" claims file key "stateDir", which is core\'s',
    );
    const stealsVariable = defineConfigSection({ fileKeys: {}, envNames: ['STOWAGE_HTTP_LISTEN'], resolve: () => 1 });
    await expect(loadConfig({ env: {}, sections: { http: httpSection, other: stealsVariable } })).rejects.toThrow(
      'config section "other" claims STOWAGE_HTTP_LISTEN, which is section "http"\'s',
    );
    const coreVariable = defineConfigSection({ fileKeys: {}, envNames: ['STOWAGE_LOG_LEVEL'], resolve: () => 1 });
    await expect(loadConfig({ env: {}, sections: { other: coreVariable } })).rejects.toThrow(
      "claims STOWAGE_LOG_LEVEL, which is core's",
    );
    const undeclared = defineConfigSection({
      fileKeys: {},
      envNames: [],
      resolve: (_file, env) => env.read('STOWAGE_HTTP_PORT', z.string()),
    });
    await expect(loadConfig({ env: {}, sections: { sneaky: undeclared } })).rejects.toThrow(
      'config section "sneaky" reads STOWAGE_HTTP_PORT, which is not among its envNames',
    );
  });
});

describe('driverSettingEnvName', () => {
  it('names the variable loadConfig reads back into the same setting', async () => {
    expect(driverSettingEnvName('ebs', 'clusterId')).toBe('STOWAGE_EBS_CLUSTER_ID');
    expect(driverSettingEnvName('efs', 'maxIoFileSystemId')).toBe('STOWAGE_EFS_MAX_IO_FILE_SYSTEM_ID');
    expect(driverSettingEnvName('local', 'root')).toBe('STOWAGE_LOCAL_ROOT');
    const env = {
      STOWAGE_DRIVERS: 'efs',
      [driverSettingEnvName('efs', 'maxIoFileSystemId')]: 'fs-1',
      [driverSettingEnvName('efs', 'dnsSuffix')]: 'example.com',
    };
    const config = await loadConfig({ env });
    expect(config.drivers.efs?.settings).toEqual({ maxIoFileSystemId: 'fs-1', dnsSuffix: 'example.com' });
  });
});
