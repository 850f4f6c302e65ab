import { existsSync } from 'node:fs';
import path from 'node:path';
import { csiSocketPath } from '@stowage/csi-adapter';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/program.js';
import { capturingCliContext, useConfigFixtures } from './support/config-fixtures.js';

const fixtures = useConfigFixtures('stowage-cli-arguments-');

describe('the command line refuses what it cannot mean, before touching anything', () => {
  let runs = 0;
  let stateDir = '';
  const context = () => {
    runs += 1;
    stateDir = path.join(fixtures.dir(), `state-${runs}`);
    return capturingCliContext(
      { STOWAGE_STATE_DIR: stateDir, STOWAGE_LOCAL_ROOT: path.join(stateDir, 'v') },
      fixtures.dir(),
    );
  };

  it.each([
    [['serve', '--socket', '/tmp/a.sock', '--socket', '/tmp/b.sock'], '--socket'],
    [['volume', 'ls', '--state-dir', '/tmp/a', '--state-dir', '/tmp/b'], '--state-dir'],
    [['serve', '--http', '127.0.0.1:1', '--http', '127.0.0.1:2'], '--http'],
  ])('exits 2 naming an option given twice: %j', async (argv, option) => {
    const cli = context();
    expect(await runCli(cli, argv)).toBe(2);
    expect(cli.err()).toMatch(new RegExp(`^stowage: ${option} is given more than once; give it once\\n`));
    expect(existsSync(stateDir)).toBe(false);
  });

  it('still takes --opt more than once, and several volume names', async () => {
    const cli = context();
    expect(await runCli(cli, ['volume', 'create', 'v1', '--opt', 'a=1', '--opt', 'b=2'])).toBe(1);
    // Refused by the local backing for its options, not by the command line.
    expect(cli.err()).not.toContain('more than once');
    const rm = context();
    await runCli(rm, ['volume', 'rm', 'x1', 'x2']);
    expect(rm.err()).not.toContain('more than once');
  });

  it('exits 1 on a --socket too long for a unix socket address, saying so (not "another process serves")', async () => {
    const cli = context();
    const long = path.join(fixtures.dir(), `${'s'.repeat(120)}.sock`);
    expect(await runCli(cli, ['serve', '--socket', long])).toBe(1);
    expect(cli.err()).toMatch(/^stowage: --socket: must be at most 107 bytes to fit a unix socket address/);
    expect(existsSync(stateDir)).toBe(false);
  });

  it('refuses a CSI endpoint too long for a unix socket address', () => {
    expect(() => csiSocketPath(`unix:///run/${'c'.repeat(120)}.sock`)).toThrow(/must be at most 107 bytes/);
    expect(csiSocketPath('unix:///run/csi/csi.sock')).toBe('/run/csi/csi.sock');
  });
});
