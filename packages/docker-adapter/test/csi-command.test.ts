import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { parsePrometheusText } from '@stowage/testkit/prometheus';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CsiClient } from './csi/csi-client.js';
import { CLI, buildCli, cliEnv, runStowage, startCsi, listeningLog, type ServeProcess } from './support/stowage-cli.js';

// As in cli.test.ts: build only when there is no dist (turbo builds it before the tests).
beforeAll(async () => {
  if (!existsSync(CLI)) await buildCli();
}, 120_000);

describe('stowage csi', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let csi: ServeProcess | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stowage-csi-cli-'));
    env = cliEnv({ STOWAGE_STATE_DIR: join(dir, 'state'), STOWAGE_LOCAL_ROOT: join(dir, 'volumes') });
  });
  afterEach(async () => {
    await csi?.stop('SIGKILL');
    csi = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it('serves Identity and the local backing on CSI_ENDPOINT, named after the default backing', async () => {
    const endpoint = `unix://${join(dir, 'run', 'csi.sock')}`;
    csi = await startCsi({ ...env, CSI_ENDPOINT: endpoint });
    const client = new CsiClient(endpoint);
    try {
      const info = await client.call('identity', 'GetPluginInfo', {});
      expect(info.answer).toMatchObject({ name: 'stowage.local', vendor_version: '0.1.0' });
      expect((await client.call('node', 'NodeGetInfo', {})).answer).toMatchObject({ node_id: hostname() });
      const created = await client.call('controller', 'CreateVolume', {
        name: 'from-csi',
        volume_capabilities: [{ mount: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } }],
      });
      expect(created.error).toBeUndefined();
    } finally {
      client.close();
    }
    expect(await csi.stop('SIGTERM')).toBe(0);
    csi = undefined;
    // The volume is the engine's like any other: `stowage volume ls` on the same state sees it.
    expect((await runStowage(['volume', 'ls', '-q'], env)).stdout).toBe('from-csi\n');
  });

  it('takes --name, --node-id and --mode from the command line', async () => {
    const endpoint = `unix://${join(dir, 'csi.sock')}`;
    csi = await startCsi(env, [
      '--endpoint',
      endpoint,
      '--name',
      'io.example.disks',
      '--node-id',
      'n7',
      '--mode',
      'node',
    ]);
    const client = new CsiClient(endpoint);
    try {
      expect((await client.call('identity', 'GetPluginInfo', {})).answer).toMatchObject({ name: 'io.example.disks' });
      expect((await client.call('identity', 'GetPluginCapabilities', {})).answer).toEqual({ capabilities: [] });
      expect((await client.call('node', 'NodeGetInfo', {})).answer).toMatchObject({ node_id: 'n7' });
    } finally {
      client.close();
    }
  });

  it('serves health, readiness, the /v1 API and CSI call metrics over HTTP with --http, and stops both', async () => {
    const endpoint = `unix://${join(dir, 'csi.sock')}`;
    csi = await startCsi(env, ['--endpoint', endpoint, '--http', '127.0.0.1:0']);
    const { http } = listeningLog(csi) as { http: string };
    expect(http).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await (await fetch(`${http}/healthz`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${http}/readyz`)).json()).toEqual({ status: 'ready', backings: ['local'] });

    const client = new CsiClient(endpoint);
    try {
      const capability = { mount: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } };
      for (let i = 0; i < 2; i += 1) {
        const created = await client.call('controller', 'CreateVolume', {
          name: 'metered',
          volume_capabilities: [capability],
        });
        expect(created.error).toBeUndefined();
      }
      const missing = await client.call('controller', 'ValidateVolumeCapabilities', {
        volume_id: 'no-such-volume',
        volume_capabilities: [capability],
      });
      expect(missing.error?.code).toBe(status.NOT_FOUND);
      expect(
        (await client.call('controller', 'CreateSnapshot', { name: 's', source_volume_id: 'metered' })).error?.code,
      ).toBe(status.UNIMPLEMENTED);
    } finally {
      client.close();
    }

    // The volume made over CSI is the engine's: the /v1 API beside it lists it.
    const volumes = (await (await fetch(`${http}/v1/volumes`)).json()) as { volumes: { name: string }[] };
    expect(volumes.volumes.map((v) => v.name)).toEqual(['metered']);
    const samples = parsePrometheusText(await (await fetch(`${http}/metrics`)).text());
    expect(samples.get('stowage_csi_requests_total{code="OK",method="CreateVolume"}')).toBe(2);
    expect(samples.get('stowage_csi_requests_total{code="NOT_FOUND",method="ValidateVolumeCapabilities"}')).toBe(1);
    expect(samples.get('stowage_csi_requests_total{code="UNIMPLEMENTED",method="CreateSnapshot"}')).toBe(1);
    expect(samples.get('stowage_csi_request_duration_seconds_count{code="OK",method="CreateVolume"}')).toBe(2);
    expect(samples.get('stowage_csi_request_duration_seconds_bucket{code="OK",le="+Inf",method="CreateVolume"}')).toBe(
      2,
    );
    // What every adapter's ops server shows, fed by the same engine.
    expect(samples.get('stowage_volumes{backing="local"}')).toBe(1);

    expect(await csi.stop('SIGTERM')).toBe(0);
    csi = undefined;
    await expect(fetch(`${http}/healthz`)).rejects.toThrow();
  });

  it('takes the ops server from the same variables as stowage serve (STOWAGE_HTTP_LISTEN)', async () => {
    const endpoint = `unix://${join(dir, 'csi.sock')}`;
    csi = await startCsi({ ...env, STOWAGE_HTTP_LISTEN: '127.0.0.1:0' }, ['--endpoint', endpoint]);
    const { http } = listeningLog(csi) as { http: string };
    expect((await fetch(`${http}/healthz`)).status).toBe(200);
  });

  it('refuses --http off loopback without a token file, and starts nothing', async () => {
    const result = await runStowage(['csi', '--endpoint', `unix://${join(dir, 'x.sock')}`, '--http', '0.0.0.0:0'], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('STOWAGE_HTTP_TOKEN_FILE');
    expect(existsSync(join(dir, 'x.sock'))).toBe(false);
  });

  it.each([
    ['a relative endpoint', ['--endpoint', 'csi.sock'], 1, 'give a unix socket as unix:///absolute/path.sock'],
    ['a plugin name the spec refuses', ['--name', 'under_score'], 1, 'invalid CSI plugin name'],
    ['an unknown mode', ['--mode', 'sideways'], 2, 'Invalid values'],
  ])('refuses %s with a clear message, and starts nothing', async (_what, args, code, message) => {
    const endpoint = args.includes('--endpoint') ? [] : ['--endpoint', `unix://${join(dir, 'x.sock')}`];
    const result = await runStowage(['csi', ...endpoint, ...args], env);
    expect(result.code).toBe(code);
    expect(result.stderr).toContain(message);
    expect(existsSync(join(dir, 'state'))).toBe(false);
  });
});
