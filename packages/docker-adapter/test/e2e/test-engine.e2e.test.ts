import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { DockerEngine, importBusyboxImage, mountsUnder } from '@stowage/testkit/docker';

// The harness on its own, without the plugin: when the other e2e files fail, this one tells whether the engine,
// the image or swarm is to blame.
describe('the private test engine', () => {
  const started: DockerEngine[] = [];
  afterAll(async () => {
    for (const engine of started) await engine.stop();
  });

  it('starts, runs a busybox container, makes and leaves a swarm, and stops leaving nothing behind', async () => {
    const engine = await DockerEngine.start({ label: 'test-engine' });
    started.push(engine);
    const image = await importBusyboxImage(engine);

    const run = await engine.docker(['run', '--rm', '--network', 'none', image, 'sh', '-c', 'echo ok']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe('ok');

    const init = await engine.docker(['swarm', 'init', '--advertise-addr', '127.0.0.1']);
    expect(init.code, init.stderr).toBe(0);
    const state = await engine.dockerOk(['info', '--format', '{{.Swarm.LocalNodeState}}']);
    expect(state.trim()).toBe('active');

    const failing = await engine.docker(['run', '--rm', image, 'sh', '-c', 'echo oops >&2; exit 3']);
    expect(failing.code).toBe(3);
    expect(failing.stderr).toContain('oops');

    await engine.stop();
    expect(existsSync(engine.dir)).toBe(false);
    expect(await mountsUnder(engine.dir)).toEqual([]);
  });

  it('starts again after a stop', async () => {
    const engine = await DockerEngine.start({ label: 'test-engine-again' });
    started.push(engine);
    const image = await importBusyboxImage(engine);
    const run = await engine.docker(['run', '--rm', image, 'sh', '-c', 'echo ok']);
    expect(run.stdout.trim()).toBe('ok');
    const state = await engine.dockerOk(['info', '--format', '{{.Swarm.LocalNodeState}}']);
    expect(state.trim()).toBe('inactive');
  });
});
