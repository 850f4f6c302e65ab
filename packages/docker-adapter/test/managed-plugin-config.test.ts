import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CLI_SECTIONS } from '../src/cli/cli-context.js';
import { buildCli, CLI, PACKAGE_DIR } from './support/stowage-cli.js';

const PACKAGING = join(PACKAGE_DIR, '..', '..', 'packaging', 'managed-plugin');
const TEMPLATE = join(PACKAGING, 'config.json');
const SCRIPT = join(PACKAGING, 'plugin-config.mjs');

interface PluginConfig {
  readonly network: { readonly type: string };
  readonly mounts: ReadonlyArray<{ name: string; source: string; destination: string; settable?: string[] }>;
  readonly env: ReadonlyArray<{ name: string; description: string; value: string; settable?: string[] }>;
}

/** `node plugin-config.mjs TEMPLATE <this package, built> OUT`: the package dir stands in for the deployed tree. */
function generate(template: string, output: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SCRIPT, template, PACKAGE_DIR, output], (error, _stdout, stderr) =>
      resolve({ code: typeof error?.code === 'number' ? error.code : error ? -1 : 0, stderr }),
    );
  });
}

// turbo builds the package before its tests; build only when there is no dist (a bare vitest run).
beforeAll(async () => {
  if (!existsSync(CLI)) await buildCli();
}, 120_000);

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stowage-plugin-config-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("the managed plugin's config.json, as pnpm package:plugin writes it", () => {
  it("declares every variable of the adapter's config sections, settable but for the socket", async () => {
    const output = join(dir, 'config.json');
    const result = await generate(TEMPLATE, output);
    expect(result.code, result.stderr).toBe(0);
    const config = JSON.parse(await readFile(output, 'utf8')) as PluginConfig;
    const env = new Map(config.env.map((entry) => [entry.name, entry]));
    const adapterVariables = Object.values(CLI_SECTIONS).flatMap((section) => section.envNames);
    expect(adapterVariables).toEqual(expect.arrayContaining(['STOWAGE_HTTP_LISTEN', 'STOWAGE_HTTP_TOKEN_FILE']));
    for (const variable of adapterVariables) {
      expect(env.get(variable), variable).toBeDefined();
      if (variable === 'STOWAGE_SOCKET') continue;
      expect(env.get(variable)?.settable, variable).toEqual(['value']);
    }
  });

  it('leaves the HTTP ops endpoint off as installed, reachable on the host once set, with a token from the host', async () => {
    const output = join(dir, 'config.json');
    expect((await generate(TEMPLATE, output)).code).toBe(0);
    const config = JSON.parse(await readFile(output, 'utf8')) as PluginConfig;
    const env = new Map(config.env.map((entry) => [entry.name, entry]));
    // Empty counts as unset: no ops server, no token, until `docker plugin set`.
    expect(env.get('STOWAGE_HTTP_LISTEN')?.value).toBe('');
    expect(env.get('STOWAGE_HTTP_TOKEN_FILE')?.value).toBe('');
    // The plugin's own network namespace would hide its loopback address from the host (and Prometheus on it).
    expect(config.network.type).toBe('host');
    // The token comes from a host file through a mount whose source the operator sets; the variable names where.
    const token = config.mounts.find((mount) => mount.name === 'http-token');
    expect(token).toMatchObject({ source: '/dev/null', settable: ['source'] });
    expect(env.get('STOWAGE_HTTP_TOKEN_FILE')?.description).toContain(token?.destination);
  });

  it('refuses a template that lacks one of the adapter variables, naming it, and writes nothing', async () => {
    const template = JSON.parse(await readFile(TEMPLATE, 'utf8')) as PluginConfig;
    const lacking = { ...template, env: template.env.filter((entry) => entry.name !== 'STOWAGE_HTTP_TOKEN_FILE') };
    const lackingFile = join(dir, 'template.json');
    await writeFile(lackingFile, JSON.stringify(lacking));
    const output = join(dir, 'config.json');
    const result = await generate(lackingFile, output);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('declares no env entry for STOWAGE_HTTP_TOKEN_FILE');
    expect(existsSync(output)).toBe(false);
  });
});
