import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorKind, StowageError, type StowageConfig } from '@stowage/core';
import { driver as ebsDriver } from '@stowage/driver-ebs';
import { driver as efsDriver } from '@stowage/driver-efs';
import { driver as localDriver } from '@stowage/driver-local';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectStowageError } from '@stowage/core/testing';
import { resolveDrivers } from '../src/composition/resolve-drivers.js';

// A driver module the way a third party might write one, without importing anything.
const driverSource = (exportLine: string) => `
const driver = { name: 'memo', description: 'test driver', settings: [], module() { return {}; } };
${exportLine}
`;

let cwd: string;
beforeEach(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'stowage-drivers-'));
});
afterEach(async () => {
  await rm(cwd, { recursive: true, force: true });
});

const drivers = (entries: StowageConfig['drivers']) => ({ drivers: entries });

const failure = (promise: Promise<unknown>): Promise<StowageError> =>
  expectStowageError(promise, ErrorKind.InvalidArgument);

describe('resolveDrivers', () => {
  it('maps the first-party name local to @stowage/driver-local', async () => {
    const [local] = await resolveDrivers(drivers({ local: { settings: {} } }), { cwd });
    expect(local).toBe(localDriver);
  });

  it('maps the cloud backings ebs and efs to their first-party packages', async () => {
    const resolved = await resolveDrivers(drivers({ ebs: { settings: {} }, efs: { settings: {} } }), { cwd });
    expect(resolved).toEqual([ebsDriver, efsDriver]);
  });

  it('loads a module by absolute path, exported as driver', async () => {
    await writeFile(join(cwd, 'memo.mjs'), driverSource('export { driver };'));
    const [memo] = await resolveDrivers(drivers({ memo: { module: join(cwd, 'memo.mjs'), settings: {} } }), { cwd });
    expect(memo?.name).toBe('memo');
  });

  it('loads a module by path relative to cwd, exported as default', async () => {
    await writeFile(join(cwd, 'memo.mjs'), driverSource('export default driver;'));
    const [memo] = await resolveDrivers(drivers({ memo: { module: './memo.mjs', settings: {} } }), { cwd });
    expect(memo?.name).toBe('memo');
  });

  it('resolves a package name from cwd, not from the plugin', async () => {
    const pkg = join(cwd, 'node_modules', 'stowage-driver-memo');
    await mkdir(pkg, { recursive: true });
    await writeFile(
      join(pkg, 'package.json'),
      JSON.stringify({ name: 'stowage-driver-memo', type: 'module', exports: './index.js' }),
    );
    await writeFile(join(pkg, 'index.js'), driverSource('export { driver };'));
    const loaded = await resolveDrivers(
      drivers({ local: { settings: {} }, memo: { module: 'stowage-driver-memo', settings: {} } }),
      {
        cwd,
      },
    );
    expect(loaded.map((d) => d.name)).toEqual(['local', 'memo']);
  });

  it('refuses an unknown name with no module, saying what to give', async () => {
    const error = await failure(resolveDrivers(drivers({ x: { settings: {} } }), { cwd }));
    expect(error.message).toBe(
      'unknown driver "x": say where to load it from with drivers.x.module in the config file or STOWAGE_X_MODULE ' +
        '(a package name or the path of its entry file)',
    );
  });

  it('refuses a package it cannot find, naming it and what was tried, and no file that is not there', async () => {
    const error = await failure(
      resolveDrivers(drivers({ memo: { module: 'no-such-driver-package', settings: {} } }), { cwd }),
    );
    expect(error.message).toBe(
      `driver "memo": cannot find module "no-such-driver-package" from ${cwd}: it is neither a file there nor an installed package`,
    );
    expect(error.message).not.toMatch(/noop\.js|package\.json|Require stack/);
  });

  it('loads a path written without a leading ./ from cwd, as the guide says (STOWAGE_TMPFS_MODULE=dist/index.js)', async () => {
    await mkdir(join(cwd, 'dist'));
    await writeFile(join(cwd, 'dist', 'index.js'), driverSource('export { driver };'));
    await writeFile(join(cwd, 'package.json'), JSON.stringify({ type: 'module' }));
    const [memo] = await resolveDrivers(drivers({ memo: { module: 'dist/index.js', settings: {} } }), { cwd });
    expect(memo?.name).toBe('memo');
  });

  it('says a path written without ./ that is not there is neither a file nor a package', async () => {
    const error = await failure(resolveDrivers(drivers({ memo: { module: 'dist/index.js', settings: {} } }), { cwd }));
    expect(error.message).toBe(
      `driver "memo": cannot find module "dist/index.js" from ${cwd}: it is neither a file there nor an installed package`,
    );
  });

  it('accepts a driver made with create and no settings, as defineDriver writes one', async () => {
    await writeFile(
      join(cwd, 'made.mjs'),
      "export const driver = { name: 'made', description: 'd', create() { return []; } };",
    );
    const [made] = await resolveDrivers(drivers({ made: { module: './made.mjs', settings: {} } }), { cwd });
    expect(made?.name).toBe('made');
  });

  it('refuses a path it cannot load, naming it', async () => {
    const error = await failure(resolveDrivers(drivers({ memo: { module: './missing.mjs', settings: {} } }), { cwd }));
    expect(error.message).toMatch(/^driver "memo": cannot load module "\.\/missing\.mjs": /);
  });

  it('refuses a module that exports no driver', async () => {
    await writeFile(join(cwd, 'empty.mjs'), 'export const something = 1;');
    const error = await failure(resolveDrivers(drivers({ memo: { module: './empty.mjs', settings: {} } }), { cwd }));
    expect(error.message).toMatch(
      /^driver "memo": module "\.\/empty\.mjs" exports no driver; expected a StowageDriver/,
    );
  });

  it('refuses a driver of the wrong shape, listing what is wrong', async () => {
    await writeFile(join(cwd, 'bad.mjs'), "export const driver = { name: 'memo', settings: {} };");
    const error = await failure(resolveDrivers(drivers({ memo: { module: './bad.mjs', settings: {} } }), { cwd }));
    expect(error.message).toMatch(
      /module "\.\/bad\.mjs" does not export .*: settings is not an array, neither create nor module is a function$/,
    );
  });

  it('refuses a driver whose name is not the configured one', async () => {
    await writeFile(join(cwd, 'memo.mjs'), driverSource('export { driver };'));
    const error = await failure(resolveDrivers(drivers({ other: { module: './memo.mjs', settings: {} } }), { cwd }));
    expect(error.message).toBe('driver "other": module "./memo.mjs" provides driver "memo"; enable it as drivers.memo');
  });
});
