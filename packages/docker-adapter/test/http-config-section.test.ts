import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI_SECTIONS, loadCliConfig } from '../src/cli/cli-context.js';
import { runCli } from '../src/cli/program.js';
import { isLoopback, listenAddress } from '@stowage/http-api';
import { capturingCliContext, configLoader, useConfigFixtures } from './support/config-fixtures.js';

const fixtures = useConfigFixtures('stowage-http-config-');
const { configFile } = fixtures;

const { load, configError } = configLoader(CLI_SECTIONS);
const http = async (input: Parameters<typeof load>[0]) => (await load(input)).sections.http;

describe('the http config section', () => {
  it('is off with no file key and no variable', async () => {
    expect(await http({ env: {} })).toEqual({});
  });

  it.each([
    ['127.0.0.1:9803', { host: '127.0.0.1', port: 9803 }],
    ['127.0.0.1:0', { host: '127.0.0.1', port: 0 }],
    ['[::1]:9803', { host: '::1', port: 9803 }],
    ['[::ffff:127.0.0.1]:65535', { host: '::ffff:127.0.0.1', port: 65535 }],
  ])('reads STOWAGE_HTTP_LISTEN=%s', async (value, listen) => {
    expect(await http({ env: { STOWAGE_HTTP_LISTEN: value } })).toEqual({ listen });
  });

  it.each([
    'localhost:9803',
    '127.0.0.1',
    '127.0.0.1:',
    ':9803',
    '127.0.0.1:65536',
    '127.0.0.1:99999',
    '127.0.0.1:-1',
    '256.0.0.1:80',
    '::1:9803',
    '[::1]',
    '[127.0.0.1]:80',
    '[::g]:80',
    '127.0.0.1:80 ',
    'http://127.0.0.1:80',
  ])('refuses STOWAGE_HTTP_LISTEN=%s naming the variable and the expected form', async (value) => {
    const message = await configError({ env: { STOWAGE_HTTP_LISTEN: value } });
    expect(message).toContain('STOWAGE_HTTP_LISTEN');
    expect(message).toContain('must be host:port with an IP address and a port from 0 to 65535');
  });

  it('reads http.listen and http.tokenFile from the file, each variable over its key', async () => {
    const file = await configFile({ http: { listen: '127.0.0.1:9803', tokenFile: '/etc/stowage/token' } });
    expect(await http({ file, env: {} })).toEqual({
      listen: { host: '127.0.0.1', port: 9803 },
      tokenFile: '/etc/stowage/token',
    });
    expect(
      await http({ file, env: { STOWAGE_HTTP_LISTEN: '[::1]:1', STOWAGE_HTTP_TOKEN_FILE: '/run/secrets/t' } }),
    ).toEqual({ listen: { host: '::1', port: 1 }, tokenFile: '/run/secrets/t' });
  });

  it('reads http.certFile and http.keyFile, each variable over its key, and refuses one without the other', async () => {
    const file = await configFile({ http: { certFile: '/etc/stowage/cert.pem', keyFile: '/etc/stowage/key.pem' } });
    expect(await http({ file, env: {} })).toEqual({
      certFile: '/etc/stowage/cert.pem',
      keyFile: '/etc/stowage/key.pem',
    });
    expect(await http({ file, env: { STOWAGE_HTTP_CERT_FILE: '/run/secrets/cert' } })).toEqual({
      certFile: '/run/secrets/cert',
      keyFile: '/etc/stowage/key.pem',
    });
    for (const env of [{ STOWAGE_HTTP_CERT_FILE: '/c.pem' }, { STOWAGE_HTTP_KEY_FILE: '/k.pem' }]) {
      expect(await configError({ env })).toMatch(/certFile \(STOWAGE_HTTP_CERT_FILE\) and keyFile .* go together/);
    }
    expect(
      await configError({ env: { STOWAGE_HTTP_CERT_FILE: 'cert.pem', STOWAGE_HTTP_KEY_FILE: '/k.pem' } }),
    ).toContain('STOWAGE_HTTP_CERT_FILE');
  });

  it('refuses unknown keys under http, a relative token file and a listen that is not a string', async () => {
    const message = await configError({
      file: await configFile({ http: { listen: 9803, tokenFile: 'token', tls: true } }),
      env: {},
    });
    expect(message).toMatch(/http\.listen/);
    expect(message).toMatch(/http\.tokenFile: must be an absolute path/);
    expect(message).toMatch(/tls/);
    const relative = await configError({ env: { STOWAGE_HTTP_TOKEN_FILE: 'token' } });
    expect(relative).toContain('STOWAGE_HTTP_TOKEN_FILE: must be an absolute path');
  });

  it.each(['0.0.0.0:9803', '10.0.0.5:9803', '[::]:9803', '[fe80::1]:9803', '[::ffff:10.0.0.1]:9803'])(
    'refuses to listen on %s without a token file',
    async (listen) => {
      const message = await configError({ env: { STOWAGE_HTTP_LISTEN: listen } });
      expect(message).toMatch(/^config: http: refusing to listen on .* without a token/);
      expect(message).toContain('STOWAGE_HTTP_TOKEN_FILE');
      expect(await http({ env: { STOWAGE_HTTP_LISTEN: listen, STOWAGE_HTTP_TOKEN_FILE: '/etc/t' } })).toEqual({
        listen: listenAddress.parse(listen),
        tokenFile: '/etc/t',
      });
    },
  );

  it('tells loopback addresses from the others', () => {
    for (const host of ['127.0.0.1', '127.255.0.9', '::1', '::ffff:127.0.0.1']) expect(isLoopback(host)).toBe(true);
    for (const host of ['0.0.0.0', '128.0.0.1', '::', '::2', '10.1.2.3', 'fe80::1'])
      expect(isLoopback(host)).toBe(false);
  });

  it('leaves a token file alone until something listens: tokenFile alone is accepted, and off', async () => {
    expect(await http({ env: { STOWAGE_HTTP_TOKEN_FILE: '/etc/t' } })).toEqual({ tokenFile: '/etc/t' });
  });
});

describe('stowage serve --http', () => {
  const context = (env: NodeJS.ProcessEnv) => capturingCliContext(env, fixtures.dir());

  it('applies --http over the file and the environment', async () => {
    const config = await loadCliConfig(context({ STOWAGE_HTTP_LISTEN: '127.0.0.1:1' }), { http: '[::1]:2' });
    expect(config.sections.http).toEqual({ listen: { host: '::1', port: 2 } });
  });

  it('exits 1 before starting anything on a non-loopback --http without a token, and on a bad address', async () => {
    const socket = path.join(fixtures.dir(), 'never.sock');
    const exposed = context({ STOWAGE_STATE_DIR: path.join(fixtures.dir(), 'state') });
    expect(await runCli(exposed, ['serve', '--socket', socket, '--http', '0.0.0.0:9803'])).toBe(1);
    expect(exposed.err()).toBe(
      'stowage: config: http: refusing to listen on 0.0.0.0:9803 without a token: set http.tokenFile ' +
        '(STOWAGE_HTTP_TOKEN_FILE) or listen on a loopback address such as 127.0.0.1\n',
    );
    const bad = context({ STOWAGE_STATE_DIR: path.join(fixtures.dir(), 'state') });
    expect(await runCli(bad, ['serve', '--socket', socket, '--http', 'localhost:80'])).toBe(1);
    expect(bad.err()).toMatch(/^stowage: --http: must be host:port with an IP address/);
  });

  it('lets the other commands read a config file made for serve', async () => {
    const file = await configFile({
      http: { listen: '127.0.0.1:9803' },
      stateDir: path.join(fixtures.dir(), 'state-ls'),
      drivers: { local: { settings: { root: path.join(fixtures.dir(), 'volumes') } } },
    });
    const ok = context({});
    expect(await runCli(ok, ['backings', '--config', file])).toBe(0);
    expect(ok.err()).toBe('');
  });
});
