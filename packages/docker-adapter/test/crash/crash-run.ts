import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { FakeDockerApi } from '../support/fake-docker-api.js';
import { FAILPOINTS_ENV } from '@stowage/core';
import { mountsUnder, PluginProcess } from '@stowage/testkit/docker';
import { CLI } from '../support/stowage-cli.js';
import type { BackingWorld, CrashBacking } from './crash-backings.js';
import { CrashRow } from './crash-row.js';
import type { CrashScenario } from './crash-scenarios.js';
import type { MotoCloud } from '@stowage/testkit/moto';

/** One row of the table: a kill at `step` during `scenario` on `backing`, and what the recovery left. */
export interface CrashResult {
  readonly backing: string;
  readonly step: string;
  readonly scenario: string;
  /** Plugin starts after the kill until the operation was complete. */
  readonly restarts: number;
  readonly leaks: readonly string[];
  readonly holdsBroken: readonly string[];
  readonly incomplete: readonly string[];
  readonly bytesLost: number;
}

/**
 * Sets the row up on a plugin with no failpoint, restarts it with `step` armed, sends the scenario's request and
 * checks the plugin died of SIGKILL there, restarts it unarmed on the same state, then retries the operation to
 * completion and counts what is left: mounts and holds nobody has, backend strays, lost bytes.
 */
export async function runCrashRow(
  backing: CrashBacking,
  step: string,
  scenario: CrashScenario,
  cloud: MotoCloud | undefined,
): Promise<CrashResult> {
  const world = await backing.prepare(cloud);
  // A socket of its own (not Docker's plugin directory), so the harness needs no Docker and no e2e lock.
  const socketDir = await mkdtemp('/tmp/stowage-crash-');
  // The harness plays the Docker engine, which sends a Mount again only while its container is not running yet:
  // its API says no container runs, so the plugin takes a Mount it died before answering for that resend.
  const docker = await FakeDockerApi.start(join(socketDir, 'docker.sock'));
  const env = { ...world.env, STOWAGE_DOCKER_API: docker.socket };
  let plugin: PluginProcess | undefined;
  let restarts = 0;
  try {
    plugin = await PluginProcess.start({
      cli: CLI,
      label: `crash-${`${backing.name}-${step}-${scenario.name}`.replace(/[^a-z0-9-]+/gi, '_')}`,
      socket: join(socketDir, 'plugin.sock'),
      logLevel: 'info',
      env,
    });
    const row = new CrashRow(plugin, backing, world, 'target', 'bystander');
    await row.create(row.bystander);
    await row.fill(row.bystander);
    await scenario.setup(row);
    await plugin.stop();

    const answer = await driveIntoFailpoint(plugin, { ...env, [FAILPOINTS_ENV]: step }, scenario, row);
    const exit = await plugin.exited(120_000);
    if (exit?.signal !== 'SIGKILL') {
      throw new Error(
        `the plugin did not die at failpoint ${step} during ${scenario.name}: ${answer}; exit ${JSON.stringify(exit ?? 'none')}`,
      );
    }

    await plugin.relaunch(env);
    restarts += 1;
    try {
      await scenario.afterRestart?.(row);
      await scenario.complete(row);
      await countLeftovers(row, scenario, world);
    } catch (error) {
      row.findings.incomplete.push((error as Error).message);
    }
    const stopped = await plugin.stop();
    if (stopped.code !== 0) row.findings.incomplete.push(`the plugin exited ${JSON.stringify(stopped)} on SIGTERM`);
    // Every caller let go before the stop, so a stopped plugin leaves nothing mounted, standing mounts included.
    for (const point of await mountsUnder(plugin.baseDir)) {
      row.findings.leaks.push(`still mounted after the plugin stopped: ${point}`);
    }
    return {
      backing: backing.name,
      step,
      scenario: scenario.name,
      restarts,
      leaks: row.findings.leaks,
      holdsBroken: row.findings.holdsBroken,
      incomplete: row.findings.incomplete,
      bytesLost: row.findings.bytesLost,
    };
  } finally {
    try {
      await plugin?.dispose();
    } finally {
      await docker.stop();
      await world.dispose();
      await rm(socketDir, { recursive: true, force: true });
    }
  }
}

/** Starts the plugin with a failpoint armed and sends the scenario's request; says how that went, for errors. */
async function driveIntoFailpoint(
  plugin: PluginProcess,
  env: Record<string, string>,
  scenario: CrashScenario,
  row: CrashRow,
): Promise<string> {
  try {
    await plugin.relaunch(env);
  } catch (error) {
    return `its start failed: ${(error as Error).message.split('\n')[0]}`;
  }
  if (!scenario.interrupted) return 'it started';
  try {
    const answer = await scenario.interrupted(row);
    return `it answered ${answer.status} ${answer.text}`;
  } catch (error) {
    return `the request failed: ${(error as Error).message}`;
  }
}

async function countLeftovers(row: CrashRow, scenario: CrashScenario, world: BackingWorld): Promise<void> {
  const { findings } = row;
  for (const id of row.heldIds()) {
    findings.incomplete.push(`the scenario left mount ${id} held`);
    await row.release(id);
  }
  const target = await row.get(row.target);
  if (scenario.targetExists !== (target !== undefined)) {
    findings.incomplete.push(
      `volume ${row.target} ${scenario.targetExists ? 'is gone' : 'still exists'} after the retry`,
    );
  }
  // Every caller of the row let go: any mount the plugin still counts is held by nobody.
  for (const [name, volume] of [
    [row.target, target],
    [row.bystander, await row.get(row.bystander)],
  ] as const) {
    const mounts = Number(volume?.Status?.mounts ?? 0);
    if (mounts > 0) findings.leaks.push(`${name}: the plugin counts ${mounts} mount(s) no caller holds`);
  }
  await row.verifyVolume(row.bystander, 'the volume no operation touched');
  for (const point of await mountsUnder(row.plugin.baseDir)) {
    if (!world.standing?.(point)) findings.leaks.push(`mounted with no caller: ${point}`);
  }
  findings.leaks.push(...(await world.strays(row.plugin, row.volumes(scenario.targetExists))));
}
