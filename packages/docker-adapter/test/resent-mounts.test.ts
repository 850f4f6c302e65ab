import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VolumeEngine, type Logger } from '@stowage/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { forgettingReleased, RESENT_MOUNT_WINDOW_MS, ResentMounts } from '../src/docker/resent-mounts.js';
import { FakeBackend, FakeBackendProvider } from '@stowage/testkit/fake-backend';

const silent = {
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error() {},
  fatal() {},
  child: () => silent,
} as never as Logger;

/**
 * The Docker engine's resend rule over a real engine: Mounts the previous process counted and never answered, sent
 * again after a restart. `provisional` Mounts are the plugin's; `resend` ones come with the adapter's hook.
 */
describe('ResentMounts: Mounts a plugin restart cut off, sent again by the Docker engine', () => {
  let dir: string;
  let backend: FakeBackend;
  const engines: VolumeEngine[] = [];
  const resents: ResentMounts[] = [];

  async function startEngine(): Promise<VolumeEngine> {
    const engine = new VolumeEngine([new FakeBackendProvider(backend)], {} as never, silent, {
      stateDir: join(dir, 'state'),
    });
    await engine.start();
    engines.push(engine);
    return engine;
  }

  /** A restarted plugin: its engine, and the Mounts it remembers, confirmed by `confirm`. */
  async function restarted(confirm: (name: string) => Promise<boolean> = async () => true) {
    const engine = await startEngine();
    const resent = new ResentMounts(confirm);
    resent.remember(engine.holds());
    resents.push(resent);
    const mount = (name: string, id: string) =>
      engine.mount(name, id, { provisional: true, isRetry: resent.isRetry(name, id) });
    return { engine, resent, mount };
  }

  /** `v` held by `holder` (answered), then `caller`'s Mounts counted `times` and never answered; the process ends. */
  async function unansweredThenStopped(caller: string, times: number): Promise<void> {
    const engine = await startEngine();
    await engine.create('v');
    await engine.mount('v', 'holder', { provisional: true });
    await engine.confirmMount('v', 'holder');
    for (let i = 0; i < times; i += 1) await engine.mount('v', caller, { provisional: true });
    await engine.stop();
  }

  const countsOf = (engine: VolumeEngine, name: string) =>
    Object.fromEntries(
      engine
        .holds()
        .find((v) => v.name === name)
        ?.callers.map((c) => [c.id, c.count]) ?? [],
    );

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stowage-resent-'));
    backend = new FakeBackend();
  });

  afterEach(async () => {
    vi.useRealTimers();
    for (const resent of resents.splice(0)) resent.close();
    for (const engine of engines.splice(0)) await engine.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('remembers only provisional Mounts, per volume and caller', async () => {
    await unansweredThenStopped('c1', 2);
    const { resent } = await restarted();
    expect(resent.remembered).toBe(2);
  });

  it('counts each sent again once, and the next one anew', async () => {
    await unansweredThenStopped('c1', 2);
    const { engine, mount } = await restarted();
    // Docker resends both Mounts (two docker cp into one container), then a third comes: none answered yet.
    for (let i = 0; i < 3; i += 1) await mount('v', 'c1');
    expect(countsOf(engine, 'v')).toEqual({ holder: 1, c1: 3 });
  });

  it('takes a Mount as sent again only when the Docker engine confirms it, and asks for that volume', async () => {
    await unansweredThenStopped('c1', 1);
    const asked: string[] = [];
    const { engine, mount } = await restarted(async (name) => (asked.push(name), false));
    await mount('v', 'c1');
    expect(asked).toEqual(['v']);
    expect(countsOf(engine, 'v')).toEqual({ holder: 1, c1: 2 });
  });

  it('never asks about a caller it does not remember (holder was answered before the restart)', async () => {
    await unansweredThenStopped('c1', 1);
    const confirm = vi.fn(async () => true);
    const { engine, mount } = await restarted(confirm);
    await mount('v', 'holder');
    expect(confirm).not.toHaveBeenCalled();
    expect(countsOf(engine, 'v')).toEqual({ holder: 2, c1: 1 });
  });

  it('forgets a caller that unmounted: its next Mount is a new one', async () => {
    await unansweredThenStopped('c1', 2);
    const { engine, resent, mount } = await restarted();
    resent.forget('v', ['c1']);
    await engine.unmount('v', 'c1');
    await mount('v', 'c1');
    expect(countsOf(engine, 'v')).toEqual({ holder: 1, c1: 2 });
  });

  it('forgets the callers whose holds the reconciler released', async () => {
    await unansweredThenStopped('c1', 1);
    const { engine, resent } = await restarted();
    const released = await forgettingReleased(engine, resent).releaseHolds('v', ['c1'], Date.now() + 1_000);
    expect(released).toBe(1);
    expect(resent.remembered).toBe(0);
  });

  it('keeps remembering callers the reconciler released nothing of', async () => {
    await unansweredThenStopped('c1', 1);
    const { engine, resent } = await restarted();
    expect(await forgettingReleased(engine, resent).releaseHolds('v', ['c1'], 0)).toBe(0);
    expect(resent.remembered).toBe(1);
  });

  it('counts them as sent again only for a minute after the start, as the Docker engine resends for 30 s', async () => {
    await unansweredThenStopped('c1', 1);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { engine, mount } = await restarted();
    vi.advanceTimersByTime(RESENT_MOUNT_WINDOW_MS);
    await mount('v', 'c1');
    expect(countsOf(engine, 'v')).toEqual({ holder: 1, c1: 2 });
  });

  it('still counts one sent again just before that minute ends', async () => {
    await unansweredThenStopped('c1', 1);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { engine, mount } = await restarted();
    vi.advanceTimersByTime(RESENT_MOUNT_WINDOW_MS - 1);
    await mount('v', 'c1');
    expect(countsOf(engine, 'v')).toEqual({ holder: 1, c1: 1 });
  });
});
