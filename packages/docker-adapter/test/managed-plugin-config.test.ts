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
const CSI_TEMPLATE = join(PACKAGE_DIR, '..', '..', 'packaging', 'csi-plugin', 'config.json');

interface PluginConfig {
  readonly entrypoint: readonly string[];
  readonly interface: { readonly types: readonly string[]; readonly socket: string };
  readonly propagatedMount: string;
  readonly linux: { readonly capabilities: readonly string[] };
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

describe("the CSI plugin's config.json, as pnpm package:csi-plugin writes it", () => {
  const generated = async (): Promise<PluginConfig> => {
    const output = join(dir, 'config.json');
    const result = await generate(CSI_TEMPLATE, output);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(await readFile(output, 'utf8')) as PluginConfig;
  };

  it('is a Swarm CSI controller and node plugin publishing under /data/published, on the socket it serves', async () => {
    const config = await generated();
    expect([...config.interface.types].sort()).toEqual(['docker.csicontroller/1.0', 'docker.csinode/1.0']);
    // Swarm publishes at /data/published/<volume id> in the plugin and reads it from the propagated mount.
    expect(config.propagatedMount).toBe('/data/published');
    expect(config.linux.capabilities).toContain('CAP_SYS_ADMIN');
    expect(config.network.type).toBe('host');
    // Docker dials /run/docker/plugins/<interface.socket> inside the plugin: the endpoint must be that path.
    const endpoint = config.entrypoint[config.entrypoint.indexOf('--endpoint') + 1];
    expect(config.entrypoint).toContain('csi');
    expect(endpoint).toBe(`unix:///run/docker/plugins/${config.interface.socket}`);
  });

  it('keeps the state and the local volumes on a host directory, so that they outlive the plugin', async () => {
    const config = await generated();
    const data = config.mounts.find((mount) => mount.name === 'data');
    expect(data).toMatchObject({ destination: '/var/lib/stowage', settable: ['source'] });
    const env = new Map(config.env.map((entry) => [entry.name, entry.value]));
    for (const variable of ['STOWAGE_STATE_DIR', 'STOWAGE_LOCAL_ROOT']) {
      expect(env.get(variable), variable).toMatch(/^\/var\/lib\/stowage\//);
    }
  });

  it("declares the ops endpoint's settings and mounts, which `stowage csi --http` reads, and none of the volume plugin's own", async () => {
    const config = await generated();
    const env = new Map(config.env.map((entry) => [entry.name, entry]));
    for (const variable of CLI_SECTIONS.http.envNames) {
      expect(env.get(variable)?.settable, variable).toEqual(['value']);
      // Off as installed: an empty value is the section's "not set".
      expect(env.get(variable)?.value, variable).toBe('');
    }
    for (const variable of CLI_SECTIONS.docker.envNames) {
      expect(env.has(variable), variable).toBe(false);
    }
    const mounts = new Map(config.mounts.map((mount) => [mount.name, mount]));
    for (const name of ['http-token', 'http-cert', 'http-key']) {
      expect(mounts.get(name), name).toMatchObject({ source: '/dev/null', settable: ['source'] });
    }
    expect(env.has('STOWAGE_EBS_CLUSTER_ID')).toBe(true);
    expect(env.has('STOWAGE_EFS_FILE_SYSTEM_ID')).toBe(true);
  });

  it('is refused when its template lacks a setting of the ops endpoint', async () => {
    const template = JSON.parse(await readFile(CSI_TEMPLATE, 'utf8')) as { env: Array<{ name: string }> };
    template.env = template.env.filter((entry) => entry.name !== 'STOWAGE_HTTP_LISTEN');
    const broken = join(dir, 'template.json');
    await writeFile(broken, JSON.stringify(template));
    const result = await generate(broken, join(dir, 'out.json'));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('STOWAGE_HTTP_LISTEN');
  });
});
