import path from 'node:path';
import { loadConfig } from '@stowage/core';
import { describe, expect, it } from 'vitest';
import { loadCliConfig } from '../src/cli/cli-context.js';
import { runCli } from '../src/cli/program.js';
import {
  DEFAULT_DOCKER_API,
  DEFAULT_SOCKET,
  DOCKER_SECTIONS,
  dockerConfigSection,
} from '../src/config/docker-config-section.js';
import { capturingCliContext, configLoader, useConfigFixtures } from './support/config-fixtures.js';

const fixtures = useConfigFixtures('stowage-docker-config-');
const { configFile } = fixtures;

/** The configuration as every `stowage` command loads it: core's and the Docker adapter's section. */
const { load, configError } = configLoader(DOCKER_SECTIONS);
const docker = async (input: Parameters<typeof load>[0]) => (await load(input)).sections.docker;

describe('the Docker adapter’s config section: defaults', () => {
  it('listens on Docker’s plugin socket and asks the engine’s API socket with no file and no environment', async () => {
    expect(await load({ env: {} })).toEqual({
      stateDir: '/var/lib/stowage',
      logLevel: 'info',
      drivers: { local: { settings: {} } },
      sections: {
        docker: {
          socket: '/run/docker/plugins/stowage.sock',
          holds: { dockerApi: '/var/run/docker.sock', intervalSeconds: 60, graceSeconds: 600 },
        },
      },
    });
    expect(DEFAULT_SOCKET).toBe('/run/docker/plugins/stowage.sock');
    expect(DEFAULT_DOCKER_API).toBe('/var/run/docker.sock');
  });

  it('takes empty variables for unset ones, as a managed plugin declares them', async () => {
    const env = {
      STOWAGE_SOCKET: '',
      STOWAGE_DOCKER_API: '',
      STOWAGE_HOLD_INTERVAL_SECONDS: '',
      STOWAGE_HOLD_GRACE_SECONDS: '',
    };
    expect(await docker({ env })).toEqual({
      socket: DEFAULT_SOCKET,
      holds: { dockerApi: DEFAULT_DOCKER_API, intervalSeconds: 60, graceSeconds: 600 },
    });
  });
});

describe('the Docker adapter’s config section: one file for core and the adapter', () => {
  it('reads every key of an operator’s file, core’s to core and the adapter’s to its section', async () => {
    const content = {
      socket: '/run/stowage/test.sock',
      stateDir: '/srv/stowage',
      defaultBacking: 'relocatable',
      logLevel: 'debug',
      drivers: {
        local: { settings: { root: '/srv/volumes' } },
        ebs: { module: '@stowage/driver-ebs', settings: { clusterId: 'c1', snapshotMinutes: 5, encrypted: true } },
      },
      dockerApi: '/run/docker.sock',
      holdIntervalSeconds: 30,
      holdGraceSeconds: 300,
    };
    const file = await configFile(content);
    const { socket, dockerApi, holdIntervalSeconds, holdGraceSeconds, ...core } = content;
    expect(await load({ file, env: {} })).toEqual({
      ...core,
      sections: {
        docker: { socket, holds: { dockerApi, intervalSeconds: holdIntervalSeconds, graceSeconds: holdGraceSeconds } },
      },
    });
  });

  it('lets the variables override the file’s keys, and turns reconciliation off with "off"', async () => {
    const file = await configFile({
      socket: '/run/a.sock',
      dockerApi: '/run/other-docker.sock',
      holdIntervalSeconds: 30,
      holdGraceSeconds: 120,
    });
    expect(await docker({ file, env: {} })).toEqual({
      socket: '/run/a.sock',
      holds: { dockerApi: '/run/other-docker.sock', intervalSeconds: 30, graceSeconds: 120 },
    });
    const env = {
      STOWAGE_SOCKET: '/run/b.sock',
      STOWAGE_DOCKER_API: 'off',
      STOWAGE_HOLD_INTERVAL_SECONDS: '5',
      STOWAGE_HOLD_GRACE_SECONDS: '7',
    };
    expect(await docker({ file, env })).toEqual({
      socket: '/run/b.sock',
      holds: { intervalSeconds: 5, graceSeconds: 7 },
    });
  });

  it('is what core alone refuses, and what an embedder told to ignore foreign keys skips', async () => {
    const file = await configFile({ socket: '/run/a.sock', stateDir: '/srv/shared', holdGraceSeconds: 5 });
    await expect(loadConfig({ file, env: {} })).rejects.toThrow(
      `config: ${file}: unknown keys "socket", "holdGraceSeconds"`,
    );
    expect((await loadConfig({ file, env: {}, unknownKeys: 'ignore' })).stateDir).toBe('/srv/shared');
  });

  it('still refuses keys nobody knows', async () => {
    const file = await configFile({ sockett: '/run/x.sock' });
    expect(await configError({ file, env: {} })).toBe(`config: ${file}: unknown key "sockett"`);
  });

  it('never reads its variables as settings of drivers named socket, docker or hold', async () => {
    const { drivers } = await load({
      env: {
        STOWAGE_DRIVERS: 'socket,docker,hold',
        STOWAGE_SOCKET_PATH: '/x',
        STOWAGE_DOCKER_API: '/run/d.sock',
        STOWAGE_HOLD_INTERVAL_SECONDS: '5',
        STOWAGE_HOLD_GRACE_SECONDS: '6',
      },
    });
    expect(drivers).toEqual({ socket: { settings: { path: '/x' } }, docker: { settings: {} }, hold: { settings: {} } });
  });
});

describe('the Docker adapter’s config section: validation', () => {
  it('requires an absolute socket path, in the file and in the environment', async () => {
    const file = await configFile({ socket: 'run/x.sock', stateDir: 'var/lib/stowage' });
    const message = await configError({ file, env: {} });
    expect(message).toContain(`config: ${file}: `);
    expect(message).toContain('socket: must be an absolute path, got "run/x.sock"');
    expect(message).toContain('stateDir: must be an absolute path, got "var/lib/stowage"');
    expect(await configError({ env: { STOWAGE_SOCKET: 'x.sock' } })).toBe(
      'config: STOWAGE_SOCKET: must be an absolute path, got "x.sock"',
    );
  });

  it('requires the socket path to fit a unix socket address', async () => {
    const fits = `/run/${'a'.repeat(107 - '/run/'.length)}`;
    expect((await docker({ env: { STOWAGE_SOCKET: fits } })).socket).toBe(fits);
    const tooLong = `${fits}b`;
    const message = await configError({ env: { STOWAGE_SOCKET: tooLong } });
    expect(message).toContain('config: STOWAGE_SOCKET: must be at most 107 bytes to fit a unix socket address');
    expect(message).toContain('is 108');
    const file = await configFile({ socket: tooLong });
    expect(await configError({ file, env: {} })).toContain(`config: ${file}: socket: must be at most 107 bytes`);
  });

  it('refuses a relative Docker API socket, and pacing that is not a whole number of seconds in range', async () => {
    expect(await configError({ env: { STOWAGE_DOCKER_API: 'docker.sock' } })).toContain('STOWAGE_DOCKER_API');
    expect(await configError({ env: { STOWAGE_HOLD_INTERVAL_SECONDS: '0' } })).toContain('must be at least 1');
    expect(await configError({ env: { STOWAGE_HOLD_INTERVAL_SECONDS: '86401' } })).toContain('must be at most 86400');
    expect(await configError({ env: { STOWAGE_HOLD_GRACE_SECONDS: '1.5' } })).toContain(
      'must be a whole number of seconds, got "1.5"',
    );
    expect(await configError({ env: { STOWAGE_HOLD_GRACE_SECONDS: 'soon' } })).toContain(
      'must be a whole number of seconds, got "soon"',
    );
    const file = await configFile({ holdIntervalSeconds: 2.5 });
    expect(await configError({ file, env: {} })).toContain(
      'holdIntervalSeconds: must be a whole number of seconds, got 2.5',
    );
  });

  it('declares every variable it reads', () => {
    expect([...dockerConfigSection.envNames].sort()).toEqual([
      'STOWAGE_DOCKER_API',
      'STOWAGE_HOLD_GRACE_SECONDS',
      'STOWAGE_HOLD_INTERVAL_SECONDS',
      'STOWAGE_SOCKET',
    ]);
  });
});

describe('the stowage command’s configuration', () => {
  const context = (env: NodeJS.ProcessEnv) => capturingCliContext(env, fixtures.dir());

  it('applies --socket and --state-dir last, relative to the working directory', async () => {
    const file = await configFile({ socket: '/run/file.sock', stateDir: '/srv/file' });
    const config = await loadCliConfig(context({ STOWAGE_SOCKET: '/run/env.sock' }), {
      config: path.basename(file),
      socket: 'run/cli.sock',
      stateDir: 'state',
    });
    expect(config.sections.docker.socket).toBe(path.join(fixtures.dir(), 'run', 'cli.sock'));
    expect(config.stateDir).toBe(path.join(fixtures.dir(), 'state'));
    expect(config.sections.docker.holds.dockerApi).toBe(DEFAULT_DOCKER_API);
  });

  it('runs on an operator’s file with the adapter’s keys, and exits 1 naming a bad one', async () => {
    const good = await configFile({
      socket: path.join(fixtures.dir(), 'p.sock'),
      dockerApi: 'off',
      stateDir: path.join(fixtures.dir(), 'state'),
      drivers: { local: { settings: { root: path.join(fixtures.dir(), 'volumes') } } },
    });
    const ok = context({});
    expect(await runCli(ok, ['backings', '--format', 'json', '--config', good])).toBe(0);
    expect(JSON.parse(ok.out())).toMatchObject([{ name: 'local' }]);

    const bad = await configFile({ socket: 'p.sock', holdGraceSeconds: 0 });
    const refused = context({});
    expect(await runCli(refused, ['backings', '--config', bad])).toBe(1);
    expect(refused.err()).toContain(`stowage: config: ${bad}: `);
    expect(refused.err()).toContain('socket: must be an absolute path, got "p.sock"');
    expect(refused.err()).toContain('holdGraceSeconds: must be at least 1');
  });
});
