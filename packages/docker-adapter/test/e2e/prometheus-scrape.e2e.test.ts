import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, PrometheusServer, waitUntil } from '@stowage/testkit/docker';
import { DRIVER, startE2eEnvironment, type E2eEnvironment } from './e2e-environment.js';
import { prometheusQueries, type PrometheusQueries } from './prometheus-queries.js';

const JOB = 'stowage';
/** The same target scraped without the token: its `up` must be 0, or the token protects nothing. */
const JOB_WITHOUT_TOKEN = 'stowage-without-token';
const MOUNT_OK = 'stowage_plugin_requests_total{endpoint="VolumeDriver.Mount",outcome="ok"}';
const UNMOUNT_OK = 'stowage_plugin_requests_total{endpoint="VolumeDriver.Unmount",outcome="ok"}';
const MOUNTED_LOCAL = 'stowage_mounted_volumes{backing="local"}';

// Issue 13's proof with a real client: Debian's Prometheus scrapes the plugin's HTTP ops endpoint (bearer token from
// a file, as an operator configures it), and its query API shows what a container started through the real Docker
// engine caused.
describe('a real Prometheus scraping the plugin', () => {
  let env: E2eEnvironment;
  let prometheus: PrometheusServer;
  let secrets: string;

  /** Reads Prometheus' answers, available once beforeAll has started it. */
  let queries: PrometheusQueries;
  const valueOf = (promql: string) => queries.valueOf(promql);
  const scraped = (promql: string, accept: (value: number) => boolean) => queries.scraped(promql, accept);

  beforeAll(async () => {
    secrets = await mkdtemp('/tmp/stowage-e2e-http-token-');
    const tokenFile = join(secrets, 'http-token');
    await writeFile(tokenFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    const listen = `127.0.0.1:${await freePort()}`;
    env = await startE2eEnvironment('prometheus-scrape', {
      env: { STOWAGE_DRIVERS: 'local', STOWAGE_HTTP_LISTEN: listen, STOWAGE_HTTP_TOKEN_FILE: tokenFile },
    });
    // The ops server starts right after the plugin socket, which is what the environment waited for.
    await waitUntil(
      `the ops server on ${listen}`,
      async () => ((await fetch(`http://${listen}/healthz`)).ok ? true : undefined),
      { timeoutMs: 30_000 },
    );
    prometheus = await PrometheusServer.start({
      label: 'prometheus-scrape',
      scrapeIntervalSeconds: 1,
      jobs: [
        { job: JOB, target: listen, bearerTokenFile: tokenFile },
        { job: JOB_WITHOUT_TOKEN, target: listen },
      ],
    });
    queries = prometheusQueries(prometheus, () => [env.plugin.logFile]);
  });

  afterAll(async () => {
    const problems: string[] = [];
    await prometheus?.stop().catch((error: Error) => problems.push(`stopping prometheus: ${error.message}`));
    await env?.stop().catch((error: Error) => problems.push(error.message));
    if (secrets) await rm(secrets, { recursive: true, force: true });
    if (problems.length > 0) throw new Error(problems.join('; '));
  });

  it('scrapes the plugin with the token, and is refused without it', async () => {
    expect(await scraped(`up{job="${JOB}"}`, (up) => up === 1)).toBe(1);
    expect(await scraped(`up{job="${JOB_WITHOUT_TOKEN}"}`, () => true)).toBe(0);
    const refused = (await prometheus.targets()).find((target) => target.job === JOB_WITHOUT_TOKEN);
    expect(refused?.lastError).toMatch(/401/);
    // Nothing has mounted yet: the counter Prometheus holds is absent or 0, so what follows is the test's doing.
    expect((await valueOf(MOUNT_OK)) ?? 0).toBe(0);
    expect(await scraped(MOUNTED_LOCAL, () => true)).toBe(0);
  });

  it('shows a Mount through the Docker engine, the volume mounted while the container runs, then the Unmount', async () => {
    await env.dockerOk(['volume', 'create', '-d', DRIVER, '--opt', 'backing=local', 'scraped']);
    const run = await env.docker(['run', '-d', '--name', 'holder', '-v', 'scraped:/data', env.image, 'sleep', '600']);
    expect(run.code, run.stderr).toBe(0);

    expect(await scraped(MOUNT_OK, (mounts) => mounts >= 1)).toBe(1);
    expect(await scraped(MOUNTED_LOCAL, (mounted) => mounted === 1)).toBe(1);
    expect(await valueOf(`stowage_volume_holds{backing="local"}`)).toBe(1);

    await env.dockerOk(['rm', '-f', 'holder']);
    expect(await scraped(UNMOUNT_OK, (unmounts) => unmounts >= 1)).toBe(1);
    expect(await scraped(MOUNTED_LOCAL, (mounted) => mounted === 0)).toBe(0);

    // A second container through `docker run --rm`, as a user runs one-off jobs: the counter goes on to 2.
    const once = await env.docker(['run', '--rm', '-v', 'scraped:/data', env.image, 'sh', '-c', 'echo hi > /data/f']);
    expect(once.code, once.stderr).toBe(0);
    expect(await scraped(MOUNT_OK, (mounts) => mounts >= 2)).toBe(2);
    expect(await valueOf(`stowage_plugin_requests_total{endpoint="VolumeDriver.Mount",outcome!="ok"}`)).toBeUndefined();
  });
});
