import { StowageError } from '@stowage/core';
import { ENGINE_FAILPOINTS, MOUNT_TABLE_FAILPOINTS } from '@stowage/core/testing';
import * as fc from 'fast-check';
import { expect, vi } from 'vitest';
import type { ProviderCall } from './chaos-provider.js';
import type { FakeDockerApi } from '../support/fake-docker-api.js';
import type { PluginAnswer, PluginWorld } from './plugin-world.js';

/**
 * A model of what the plugin must do, as the Docker engine and its containers see it, checked against a real
 * plugin (engine, protocol, holds reconciler) over a real backend after every step of random sequences.
 *
 * The model: which volumes exist (and with which options), what containers wrote into them, which containers run
 * on which volume, and at most how many holds the plugin may keep for callers that are gone but that nothing could
 * tell it about yet (`stale`: the containers of a Docker engine that crashed, a container removed while the plugin
 * was down, a Mount sent again after a kill that the plugin cannot tell from a new one). Its invariants, checked
 * after every step:
 * - a volume is answered as mounted (a Mount's path, Get's Mountpoint) only while the backend has it mounted;
 * - the plugin's hold count of a volume is at least what its running containers hold (a restart never loses an
 *   acknowledged hold) and at most that plus its stale holds (it never invents one; a Mount whose caller gave up is
 *   never counted), and after a reconciliation with the Docker engine, a volume no container runs on has none;
 * - Remove succeeds only when no container holds the volume;
 * - every byte a container wrote is still there while its volume exists; volumes exist exactly as the model says.
 */

/** Valid names, some of them `Object.prototype` members. */
export const NAMES = ['v1', 'v2', 'constructor', 'toString'] as const;
/** Names Docker or a user could send that are no volume name: refused with an Err, changing nothing. */
const BAD_NAMES = ['../escape', '__proto__', 'a/b', 'tab\there', '', '.hidden', 'x'.repeat(201), 'new\nline'];
/** Mount IDs (one per container, as Docker's are per container mount), hostile ones included. */
const CONTAINERS = ['c1', 'c2', 'constructor', '__proto__', 'toString', 'hasOwnProperty', 'f'.repeat(64)] as const;
const TABLE_POINTS: readonly string[] = MOUNT_TABLE_FAILPOINTS;
const points = (prefix: string): string[] => ENGINE_FAILPOINTS.filter((name) => name.startsWith(prefix));
const WRITE_POINTS = ['mount-table:before-append', 'mount-table:before-snapshot'] as const;

interface VolumeState {
  readonly variant: 0 | 1;
  readonly files: Map<string, string>;
}

interface ContainerState {
  readonly volume: string;
  /** Started again by the engine after an engine crash (a restart policy). */
  readonly restarts: boolean;
}

export class PluginModel {
  readonly volumes = new Map<string, VolumeState>();
  /** By Mount ID. */
  readonly running = new Map<string, ContainerState>();
  readonly stale = new Map<string, number>();
  private written = 0;

  holds(name: string): number {
    let live = 0;
    for (const container of this.running.values()) if (container.volume === name) live += 1;
    return live + (this.stale.get(name) ?? 0);
  }

  addStale(name: string): void {
    this.stale.set(name, (this.stale.get(name) ?? 0) + 1);
  }

  nextFile(): string {
    this.written += 1;
    return `file-${this.written}`;
  }
}

/** The plugin and what stands around it: the Docker engine's API the plugin asks, and counts for the report. */
export interface ModelReal {
  readonly world: PluginWorld;
  readonly docker: FakeDockerApi;
  readonly stats: Map<string, number>;
}

type Cmd = fc.AsyncCommand<PluginModel, ModelReal>;

function count(real: ModelReal, what: string): void {
  real.stats.set(what, (real.stats.get(what) ?? 0) + 1);
}

function errOf(answer: PluginAnswer): string {
  return typeof answer.body.Err === 'string' ? answer.body.Err : '';
}

/** The Docker engine's view follows the model: every running container mounts its volume. */
function syncDocker(model: PluginModel, real: ModelReal): void {
  real.docker.containers = [...model.running].map(([id, c]) => ({ id, state: 'running', volume: c.volume }));
}

/** How the plugin is disturbed during one operation. */
type Disturbance =
  | { readonly kind: 'none' }
  | { readonly kind: 'crash'; readonly failpoint: string }
  | { readonly kind: 'provider'; readonly call: ProviderCall }
  | { readonly kind: 'write'; readonly failpoint: string };

/** One Docker-level operation; `perform` runs it under a disturbance and updates the model from what happened. */
interface Operation {
  readonly label: string;
  /** Where a kill during it can land (engine and mount-table failpoints on its paths). */
  readonly failpoints: readonly string[];
  /** Which provider calls it can make. */
  readonly calls: readonly ProviderCall[];
  /** Whether it writes the mount table. */
  readonly writes: boolean;
  check(model: Readonly<PluginModel>): boolean;
  perform(model: PluginModel, real: ModelReal, disturbance: Disturbance): Promise<void>;
}

/** What a disturbance did: whether the fault it armed was used. */
function disturb(real: ModelReal, disturbance: Disturbance): void {
  const { world } = real;
  if (disturbance.kind === 'crash') world.armCrash(disturbance.failpoint);
  if (disturbance.kind === 'write')
    world.armFailure(disturbance.failpoint, Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }));
  if (disturbance.kind === 'provider')
    world.chaos.failNext(disturbance.call, StowageError.backendFailure(`the backend failed a ${disturbance.call}`));
}

function settle(real: ModelReal, disturbance: Disturbance): { used: boolean } {
  const providerUsed = real.world.chaos.failureUsed;
  const { crashed, failed } = real.world.disarm();
  if (disturbance.kind === 'crash') return { used: crashed };
  if (disturbance.kind === 'write') return { used: failed };
  if (disturbance.kind === 'provider') return { used: providerUsed };
  return { used: false };
}

const createOp = (name: string, variant: 0 | 1): Operation => ({
  label: `Create(${name}, options ${variant})`,
  failpoints: points('create:'),
  calls: ['inspect', 'create'],
  writes: false,
  check: () => true,
  async perform(model, real, disturbance) {
    const { world } = real;
    disturb(real, disturbance);
    const answer = await world.call('VolumeDriver.Create', { Name: name, Opts: world.backend.options[variant] });
    const { used } = settle(real, disturbance);
    const existing = model.volumes.get(name);
    if (existing) {
      if (used && disturbance.kind === 'provider') expect(errOf(answer), 'a create whose lookup failed').not.toBe('');
      else if (existing.variant === variant) expect(errOf(answer), 'a repeated create with the same options').toBe('');
      else expect(errOf(answer)).toContain('already exists with other options');
      return;
    }
    if (used && disturbance.kind === 'provider') {
      expect(errOf(answer)).not.toBe('');
      return;
    }
    expect(errOf(answer), 'create').toBe('');
    model.volumes.set(name, { variant, files: new Map() });
  },
});

const removeOp = (name: string): Operation => ({
  label: `Remove(${name})`,
  failpoints: [...points('remove:'), 'unmount:after-provider', ...TABLE_POINTS],
  calls: ['inspect', 'remove', 'unmount'],
  writes: true,
  check: () => true,
  async perform(model, real, disturbance) {
    disturb(real, disturbance);
    const answer = await real.world.call('VolumeDriver.Remove', { Name: name });
    const { used } = settle(real, disturbance);
    const err = errOf(answer);
    if (!model.volumes.has(name)) {
      if (used && disturbance.kind === 'provider') expect(err).not.toBe('');
      else expect(err).toContain('not found');
      return;
    }
    if (model.holds(name) > 0) {
      expect(err, 'Remove of a held volume').toContain('in use');
      return;
    }
    if (used && (disturbance.kind === 'provider' || disturbance.kind === 'write')) {
      // The backend or the table failed (a release a crash left to finish, then the removal): nothing was removed.
      expect(err).not.toBe('');
      return;
    }
    // Sent again after a kill that came after the backend removed it: the second Remove finds nothing.
    if (used && disturbance.kind === 'crash' && err !== '') expect(err).toContain('not found');
    else expect(err, 'Remove').toBe('');
    model.volumes.delete(name);
    model.stale.delete(name);
  },
});

/** Which volume an operation picks: mostly one that exists (by position), sometimes any name. */
interface VolumePick {
  readonly existing: boolean;
  readonly index: number;
}

function pickVolume(model: Readonly<PluginModel>, pick: VolumePick): string {
  const existing = [...model.volumes.keys()];
  if (pick.existing && existing.length > 0) return existing[pick.index % existing.length] as string;
  return NAMES[pick.index % NAMES.length] as string;
}

/** The `index`-th container that is not running, from the pool. */
function freeContainer(model: Readonly<PluginModel>, index: number): string | undefined {
  const free = CONTAINERS.filter((id) => !model.running.has(id));
  return free.length === 0 ? undefined : free[index % free.length];
}

/** The `index`-th running container. */
function runningContainer(model: Readonly<PluginModel>, index: number): string | undefined {
  const running = [...model.running.keys()];
  return running.length === 0 ? undefined : running[index % running.length];
}

const runOp = (
  pickContainer: number,
  pick: VolumePick,
  restarts: boolean,
  fixed?: { id: string; name: string },
): Operation => {
  let shown = fixed ? `${fixed.id.slice(0, 16)} on ${fixed.name}` : `container #${pickContainer}`;
  return {
    get label() {
      return `Run(${shown}${restarts ? ', restart always' : ''})`;
    },
    failpoints: [...points('mount:'), ...TABLE_POINTS],
    calls: ['inspect', 'mount'],
    writes: true,
    check: (model) => (fixed ? !model.running.has(fixed.id) : freeContainer(model, pickContainer) !== undefined),
    async perform(model, real, disturbance) {
      const id = fixed?.id ?? (freeContainer(model, pickContainer) as string);
      const name = fixed?.name ?? pickVolume(model, pick);
      shown = `${id.slice(0, 16)} on ${name}`;
      const { world } = real;
      disturb(real, disturbance);
      const answer = await world.call('VolumeDriver.Mount', { Name: name, ID: id });
      await world.idle();
      settle(real, disturbance);
      const err = errOf(answer);
      const volume = model.volumes.get(name);
      if (!volume) {
        expect(err).not.toBe('');
        return;
      }
      // Trust the answer for the outcome (a fault may or may not have stopped it), and check it against the backend.
      if (err !== '') {
        expect(disturbance.kind, `Mount failed without a fault: ${err}`).not.toBe('none');
        return;
      }
      const mountpoint = answer.body.Mountpoint as string;
      expect(await world.backend.mounted(name, mountpoint), `${name} answered as mounted at ${mountpoint}`).toBe(true);
      // Sent again after a kill while another container runs on the volume: the plugin cannot tell it from a new
      // Mount, and counts it again rather than risk too few.
      if (disturbance.kind === 'crash') model.addStale(name);
      const file = model.nextFile();
      await world.backend.write(name, mountpoint, file, `${id} wrote ${file}`);
      volume.files.set(file, `${id} wrote ${file}`);
      model.running.set(id, { volume: name, restarts });
      syncDocker(model, real);
    },
  };
};

const stopOp = (pickContainer: number): Operation => {
  let shown = `container #${pickContainer}`;
  return {
    get label() {
      return `Stop(${shown})`;
    },
    failpoints: [...points('unmount:'), ...TABLE_POINTS],
    calls: ['unmount'],
    writes: true,
    check: (model) => model.running.size > 0,
    async perform(model, real, disturbance) {
      const id = runningContainer(model, pickContainer) as string;
      shown = id.slice(0, 16);
      const container = model.running.get(id) as ContainerState;
      disturb(real, disturbance);
      const answer = await real.world.call('VolumeDriver.Unmount', { Name: container.volume, ID: id });
      const { used } = settle(real, disturbance);
      const err = errOf(answer);
      // The container stops whatever the plugin answers.
      model.running.delete(id);
      syncDocker(model, real);
      if (disturbance.kind === 'crash' && used) {
        // Sent again after a kill: if the first Unmount was made, the second finds nothing to match, or (the ID held
        // twice: a container restarted after an engine crash, under its old ID) matches the stale hold of that ID.
        if (err !== '') expect(err).toContain('has no mount with ID');
        return;
      }
      if (err === '') return;
      if (disturbance.kind === 'provider' && used && disturbance.call === 'unmount') {
        // The hold was off before the backend failed to release: the volume is released at the next start or Mount.
      } else if (disturbance.kind === 'write' && used) {
        // Which write failed decides: the hold's removal (not made, so the hold stays, now stale: nobody will ever
        // match it), or, after it, the record's deletion (the hold is off; the release is finished later).
        model.addStale(container.volume);
      } else {
        throw new Error(`Unmount failed without a reason: ${err}`);
      }
    },
  };
};

const copyOp = (pickContainer: number): Operation => {
  let shown = `container #${pickContainer}`;
  return {
    get label() {
      return `Cp(into ${shown})`;
    },
    failpoints: [...points('mount:'), ...TABLE_POINTS],
    calls: ['inspect', 'mount'],
    writes: true,
    check: (model) => model.running.size > 0,
    async perform(model, real, disturbance) {
      const id = runningContainer(model, pickContainer) as string;
      shown = id.slice(0, 16);
      const container = model.running.get(id) as ContainerState;
      const { world } = real;
      disturb(real, disturbance);
      const mounted = await world.call('VolumeDriver.Mount', { Name: container.volume, ID: id });
      await world.idle();
      settle(real, disturbance);
      if (errOf(mounted) !== '') {
        expect(disturbance.kind, `docker cp's Mount failed without a fault: ${errOf(mounted)}`).not.toBe('none');
        return;
      }
      const mountpoint = mounted.body.Mountpoint as string;
      expect(await world.backend.mounted(container.volume, mountpoint)).toBe(true);
      // Sent again after a kill, into a running container: counted again rather than risk too few.
      if (disturbance.kind === 'crash') model.addStale(container.volume);
      const file = model.nextFile();
      await world.backend.write(container.volume, mountpoint, file, `copied ${file}`);
      model.volumes.get(container.volume)?.files.set(file, `copied ${file}`);
      const unmounted = await world.call('VolumeDriver.Unmount', { Name: container.volume, ID: id });
      expect(errOf(unmounted), "docker cp's Unmount").toBe('');
    },
  };
};

const getOp = (name: string): Operation => ({
  label: `Get(${name})`,
  failpoints: [],
  calls: ['inspect'],
  writes: false,
  check: () => true,
  async perform(model, real, disturbance) {
    disturb(real, disturbance);
    const answer = await real.world.call('VolumeDriver.Get', { Name: name });
    settle(real, disturbance);
    const err = errOf(answer);
    // A backend that cannot answer never makes an existing volume look absent (Docker would forget it).
    if (model.volumes.has(name)) expect(err).not.toMatch(/not found|no such volume/i);
    else if (disturbance.kind === 'none') expect(err).not.toBe('');
  },
});

const listOp: Operation = {
  label: 'List',
  failpoints: [],
  calls: ['list'],
  writes: false,
  check: () => true,
  async perform(model, real, disturbance) {
    disturb(real, disturbance);
    const answer = await real.world.call('VolumeDriver.List', {});
    const { used } = settle(real, disturbance);
    if (used && disturbance.kind === 'provider') {
      expect(errOf(answer)).not.toBe('');
      return;
    }
    const names = (answer.body.Volumes as Array<{ Name: string }>).map((v) => v.Name).sort();
    expect(names).toEqual([...model.volumes.keys()].sort());
  },
};

/** Runs one operation undisturbed, or under a disturbance; then checks every invariant. */
class OperationCommand implements Cmd {
  constructor(
    private readonly operation: Operation,
    private readonly disturbance: Disturbance = { kind: 'none' },
  ) {}

  check(model: Readonly<PluginModel>): boolean {
    return this.operation.check(model);
  }

  async run(model: PluginModel, real: ModelReal): Promise<void> {
    count(
      real,
      this.disturbance.kind === 'none'
        ? this.operation.label.replace(/\(.*/, '')
        : `${this.disturbance.kind} during an operation`,
    );
    await this.operation.perform(model, real, this.disturbance);
    await checkInvariants(model, real);
  }

  toString(): string {
    const d = this.disturbance;
    const how =
      d.kind === 'none' ? '' : d.kind === 'provider' ? ` [backend fails ${d.call}]` : ` [${d.kind} at ${d.failpoint}]`;
    return `${this.operation.label}${how}`;
  }
}

/** A command that is not an operation on a volume: a restart, a crash, Docker's own events. */
class Step implements Cmd {
  constructor(
    private readonly label: string,
    private readonly precondition: (model: Readonly<PluginModel>) => boolean,
    private readonly action: (model: PluginModel, real: ModelReal) => Promise<void>,
  ) {}

  check(model: Readonly<PluginModel>): boolean {
    return this.precondition(model);
  }

  async run(model: PluginModel, real: ModelReal): Promise<void> {
    count(real, this.label.replace(/\(.*/, ''));
    await this.action(model, real);
    await checkInvariants(model, real);
  }

  toString(): string {
    return this.label;
  }
}

const badCreate = (name: string) =>
  new Step(
    `Create(${JSON.stringify(name).slice(0, 24)})`,
    () => true,
    async (_model, real) => {
      const answer = await real.world.call('VolumeDriver.Create', { Name: name, Opts: {} });
      expect(errOf(answer), `create of the bad name ${JSON.stringify(name)}`).not.toBe('');
    },
  );

const activate = new Step(
  'Plugin.Activate',
  () => true,
  async (_model, real) => {
    expect((await real.world.call('Plugin.Activate', null)).body).toEqual({ Implements: ['VolumeDriver'] });
  },
);

const restartPlugin = new Step(
  'RestartPlugin',
  () => true,
  async (_model, real) => {
    await real.world.stop();
    await real.world.start();
  },
);

const killPlugin = new Step(
  'KillPlugin',
  () => true,
  async (_model, real) => {
    if (!real.world.running) await real.world.start();
    real.world.kill();
  },
);

const reconcile = new Step(
  'ReconcileHolds',
  () => true,
  async (model, real) => {
    if (!real.world.running) await real.world.start();
    syncDocker(model, real);
    // Every hold is from an earlier millisecond than the pass: with no grace period, all of them are old enough.
    const now = Date.now();
    while (Date.now() <= now) await new Promise((resolve) => setImmediate(resolve));
    await real.world.reconciler.reconcile();
    for (const name of [...model.stale.keys()]) {
      if ([...model.running.values()].every((c) => c.volume !== name)) model.stale.delete(name);
    }
  },
);

/** The Docker engine crashes. With live-restore its containers run on; without, they die and restart by policy. */
const engineCrash = (liveRestore: boolean) =>
  new Step(
    `DockerEngineCrash(${liveRestore ? 'live-restore' : 'containers die'})`,
    () => true,
    async (model, real) => {
      const died = liveRestore ? [] : [...model.running];
      for (const [id, container] of died) {
        model.running.delete(id);
        model.addStale(container.volume);
      }
      syncDocker(model, real);
      await activate.run(model, real);
      for (const [id, container] of died.filter(([, c]) => c.restarts)) {
        // Started again under its old mount ID, on a fresh Mount.
        await runOp(0, { existing: true, index: 0 }, true, { id, name: container.volume }).perform(model, real, {
          kind: 'none',
        });
      }
    },
  );

/**
 * The host reboots: containers die with it (their holds are left, never unmounted), every mount is gone, the mount
 * journal's writes since its last sync are damaged as a power cut may leave them (see PluginWorld.powerCut), and when
 * the plugin starts again the backend cannot mount the first volume it tries (a disk not back yet, a volume another
 * node took meanwhile). Nothing may then be answered as mounted without the backend mounting it again.
 */
const hostReboot = new Step(
  'HostReboot',
  () => true,
  async (model, real) => {
    const { world } = real;
    if (world.running) world.kill();
    world.powerCut();
    for (const [id, container] of [...model.running]) {
      model.running.delete(id);
      model.addStale(container.volume);
    }
    syncDocker(model, real);
    await world.backend.reboot();
    world.chaos.failNext('mount', StowageError.backendFailure('the device is not there yet'));
    await world.start();
    world.chaos.clear();
  },
);

/** A container stops while the plugin is down: its Unmount never arrives. */
const stopWhileDown = (pickContainer: number) =>
  new Step(
    `StopWhilePluginDown(container #${pickContainer})`,
    (model) => model.running.size > 0,
    async (model, real) => {
      if (!real.world.running) await real.world.start();
      real.world.kill();
      const id = runningContainer(model, pickContainer) as string;
      const container = model.running.get(id) as ContainerState;
      model.running.delete(id);
      model.addStale(container.volume);
      syncDocker(model, real);
    },
  );

/**
 * A first Mount whose backend is slow, and whose caller gives up (Docker's deadline) before the answer: the Mount
 * completes after the caller is gone, and must not stay counted.
 */
const giveUp = (pickContainer: number, pick: VolumePick) =>
  new Step(
    `MountCallerGivesUp(container #${pickContainer})`,
    (model) =>
      freeContainer(model, pickContainer) !== undefined && [...model.volumes.keys()].some((v) => model.holds(v) === 0),
    async (model, real) => {
      const { world } = real;
      const id = freeContainer(model, pickContainer) as string;
      const candidates = [...model.volumes.keys()].filter((v) => model.holds(v) === 0);
      const name = candidates[pick.index % candidates.length] as string;
      if (!world.running) await world.start();
      const held = world.chaos.holdNext('mount');
      await world.abandon('VolumeDriver.Mount', { Name: name, ID: id }, held.reached);
      await vi.waitFor(async () => expect(await connections(world)).toBe(0), { timeout: 10_000, interval: 2 });
      const unmountsBefore = world.chaos.calls.filter((c) => c.endsWith(':unmount')).length;
      held.open();
      await held.finished;
      await vi.waitFor(
        () => expect(world.chaos.calls.filter((c) => c.endsWith(':unmount')).length).toBeGreaterThan(unmountsBefore),
        {
          timeout: 10_000,
          interval: 2,
        },
      );
      await vi.waitFor(() => expect(world.engine.holds().find((v) => v.name === name)).toBeUndefined(), {
        timeout: 10_000,
        interval: 2,
      });
    },
  );

function connections(world: PluginWorld): Promise<number> {
  return new Promise((resolve, reject) =>
    world.server.getConnections((error, n) => (error ? reject(error) : resolve(n))),
  );
}

/** After every step: what Docker and the backend see agrees with the model. */
export async function checkInvariants(model: PluginModel, real: ModelReal): Promise<void> {
  const { world } = real;
  for (const name of NAMES) {
    const answer = await world.call('VolumeDriver.Get', { Name: name });
    const volume = model.volumes.get(name);
    expect(await world.backend.exists(name), `${name} exists in the backend`).toBe(volume !== undefined);
    if (!volume) {
      expect(errOf(answer), `Get of absent ${name}`).toContain('not found');
      continue;
    }
    expect(errOf(answer), `Get of ${name}`).toBe('');
    const reported = answer.body.Volume as { Mountpoint?: string; Status?: { mounts?: number } };
    const mounts = reported.Status?.mounts ?? -1;
    const live = model.holds(name) - (model.stale.get(name) ?? 0);
    // Never fewer than the running containers hold (a hold lost unmounts under a container), never more than they
    // and the callers nothing could report gone (an invented hold pins the volume).
    expect(mounts, `holds of ${name}: at least its ${live} running container(s)`).toBeGreaterThanOrEqual(live);
    expect(
      mounts,
      `holds of ${name}: at most ${live} running and ${model.stale.get(name) ?? 0} gone`,
    ).toBeLessThanOrEqual(model.holds(name));
    // The plugin may learn earlier than the model of a caller that is gone (a resend taken for the Mount of a
    // container that died with its engine): from here on, the model expects what the plugin has.
    if (mounts - live > 0) model.stale.set(name, mounts - live);
    else model.stale.delete(name);
    if (reported.Mountpoint) {
      expect(
        await world.backend.mounted(name, reported.Mountpoint),
        `${name} reported mounted at ${reported.Mountpoint}`,
      ).toBe(true);
    }
    if (reported.Mountpoint || world.backend.readsUnmounted) {
      for (const [file, content] of volume.files) {
        expect(await world.backend.read(name, reported.Mountpoint ?? '', file), `${file} of ${name}`).toBe(content);
      }
    }
  }
  const listed = await world.call('VolumeDriver.List', {});
  expect((listed.body.Volumes as Array<{ Name: string }>).map((v) => v.Name).sort()).toEqual(
    [...model.volumes.keys()].sort(),
  );
}

/** At the end of a sequence: every volume the model has is mounted once more, and all its files read through it. */
export async function checkEveryByte(model: PluginModel, real: ModelReal): Promise<void> {
  const { world } = real;
  for (const [name, volume] of model.volumes) {
    const mounted = await world.call('VolumeDriver.Mount', { Name: name, ID: 'model-final-check' });
    expect(errOf(mounted), `final Mount of ${name}`).toBe('');
    const mountpoint = mounted.body.Mountpoint as string;
    for (const [file, content] of volume.files)
      expect(await world.backend.read(name, mountpoint, file), `${file} of ${name}`).toBe(content);
    expect(errOf(await world.call('VolumeDriver.Unmount', { Name: name, ID: 'model-final-check' }))).toBe('');
  }
}

/** Every command the model knows, as fast-check arbitraries; operations on volumes weigh more. */
export function commandArbitraries(options: { faults: boolean }): Array<fc.Arbitrary<Cmd>> {
  const name = fc.constantFrom(...NAMES);
  const container = fc.nat({ max: 1_000 });
  // Mostly a volume that exists; one time in eight any name, which may not.
  const volume: fc.Arbitrary<VolumePick> = fc.record({
    existing: fc.integer({ min: 0, max: 7 }).map((n) => n > 0),
    index: fc.nat({ max: 1_000 }),
  });
  const variant = fc.constantFrom<0 | 1>(0, 1);
  const create = fc.tuple(name, variant).map(([n, v]) => createOp(n, v));
  const run = fc.tuple(container, volume, fc.boolean()).map(([k, v, r]) => runOp(k, v, r));
  const stop = container.map(stopOp);
  const copy = container.map(copyOp);
  const operation: fc.Arbitrary<Operation> = fc.oneof(
    create,
    name.map(removeOp),
    run,
    run,
    stop,
    stop,
    copy,
    name.map(getOp),
    fc.constant(listOp),
  );
  const plain = (op: fc.Arbitrary<Operation>) => op.map((o) => new OperationCommand(o));
  const commands: Array<fc.Arbitrary<Cmd>> = [
    plain(create),
    plain(create),
    plain(name.map(removeOp)),
    plain(run),
    plain(run),
    plain(run),
    plain(stop),
    plain(stop),
    plain(copy),
    plain(name.map(getOp)),
    plain(fc.constant(listOp)),
    fc.constantFrom(...BAD_NAMES).map(badCreate),
    fc.constant(activate),
  ];
  if (!options.faults) return commands;
  const crash = operation
    .filter((op) => op.failpoints.length > 0)
    .chain((op) =>
      fc.constantFrom(...op.failpoints).map((failpoint) => new OperationCommand(op, { kind: 'crash', failpoint })),
    );
  const failing = operation.chain((op) =>
    fc.constantFrom(...op.calls).map((call) => new OperationCommand(op, { kind: 'provider', call })),
  );
  const fullDisk = operation
    .filter((op) => op.writes)
    .chain((op) =>
      fc.constantFrom(...WRITE_POINTS).map((failpoint) => new OperationCommand(op, { kind: 'write', failpoint })),
    );
  return [
    ...commands,
    fc.constant(restartPlugin),
    fc.constant(killPlugin),
    fc.constant(reconcile),
    fc.constant(hostReboot),
    fc.boolean().map(engineCrash),
    container.map(stopWhileDown),
    fc.tuple(container, volume).map(([k, v]) => giveUp(k, v)),
    crash,
    crash,
    crash,
    failing,
    failing,
    fullDisk,
    fullDisk,
  ];
}
