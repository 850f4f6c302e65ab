import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  SystemHostOperations,
  composeStowage,
  createLogger,
  type StowageConfig,
  type VolumeEngine,
} from '@stowage/core';
import { driver as localDriver } from '@stowage/driver-local';
import { driver as loopfsDriver } from '@stowage-examples/driver-loopfs';
import type { Checklist } from './checklist.js';

/** The two "tasks" the toy scheduler places on this node; their IDs are the engine's caller IDs. */
const TASKS = ['task-1', 'task-2'] as const;

/**
 * What an orchestrator does with the engine, start to finish: compose it with two providers, create a volume on
 * each, mount one for two tasks, hand data from one task to the other, list, release and remove. Everything made
 * lives in a temporary directory, removed at the end whatever happened.
 */
export async function runScheduler(check: Checklist): Promise<void> {
  const base = await mkdtemp(join(tmpdir(), 'stowage-embed-'));
  const logger = createLogger({ level: 'warn' });
  const host = new SystemHostOperations({ logger });
  // Built in code: no file, no environment, only what the engine and its two drivers need.
  const config: StowageConfig = {
    stateDir: join(base, 'state'),
    logLevel: 'warn',
    drivers: {
      local: { settings: { root: join(base, 'local') } },
      loopfs: { settings: { root: join(base, 'loopfs') } },
    },
  };
  const stowage = await composeStowage({ config, drivers: [localDriver, loopfsDriver], logger, host });
  const { engine } = stowage;
  try {
    await engine.start();
    const backings = engine
      .backings()
      .map((b) => b.name)
      .sort();
    check.expect(backings.join(',') === 'local,loopfs', 'the engine serves the local and loopfs backings', backings);

    const scratch = await engine.create('scratch', { backing: 'local' });
    check.expect(scratch.backing === 'local', 'created volume scratch on backing local', scratch.backing);
    const data = await engine.create('data', { backing: 'loopfs', size: '64' });
    check.expect(
      data.backing === 'loopfs' && data.options.size === '64',
      'created volume data on backing loopfs, 64 MiB',
      data,
    );

    await shareBetweenTasks(engine, host, check);

    const listed = (await engine.list()).map((v) => `${v.name}@${v.backing}`).sort();
    check.expect(
      listed.join(' ') === 'data@loopfs scratch@local',
      'list shows both volumes with their backings',
      listed,
    );

    for (const name of ['scratch', 'data']) await engine.remove(name);
    const left = await engine.list();
    check.expect(
      left.length === 0,
      'both volumes are removed',
      left.map((v) => v.name),
    );
  } finally {
    await cleanUp(engine, check);
    await stowage.close();
    const mounts = await host.listMounts(base);
    check.expect(
      mounts.length === 0,
      'nothing is left mounted',
      mounts.map((m) => m.target),
    );
    if (mounts.length === 0) await rm(base, { recursive: true, force: true });
  }
}

/** Mounts `data` for both tasks, writes through one task's path and reads through the other's, then releases. */
async function shareBetweenTasks(engine: VolumeEngine, host: SystemHostOperations, check: Checklist): Promise<void> {
  const [first, second] = TASKS;
  const writerPath = await engine.mount('data', first);
  const readerPath = await engine.mount('data', second);
  check.step(`mounted data for ${first} and ${second} at ${writerPath}`);
  check.expect(readerPath === writerPath, 'both tasks get the same path', [writerPath, readerPath]);
  check.expect(await host.isMountpoint(writerPath), 'the path is a real mount (the loop-mounted image)');
  check.expect((await engine.get('data'))?.status.mounts === 2, 'the engine counts two mounts');

  await writeFile(join(writerPath, 'handoff.txt'), `written by ${first}\n`);
  const read = await readFile(join(readerPath, 'handoff.txt'), 'utf8');
  check.expect(read === `written by ${first}\n`, `${second} reads what ${first} wrote`, read);

  await engine.unmount('data', first);
  check.expect(await host.isMountpoint(readerPath), `after ${first} leaves, the volume stays mounted for ${second}`);
  await engine.unmount('data', second);
  check.expect(!(await host.isMountpoint(readerPath)), `after ${second} leaves too, the volume is unmounted`);
}

/** Releases and removes whatever an earlier failure left, so a failed run leaves no mount behind. */
async function cleanUp(engine: VolumeEngine, check: Checklist): Promise<void> {
  for (const name of ['scratch', 'data']) {
    for (const task of TASKS) await engine.unmount(name, task).catch(() => undefined);
    const removed = await engine.remove(name).then(
      () => true,
      () => false,
    );
    if (removed) check.step(`cleaned up volume ${name} after a failure`);
  }
}
