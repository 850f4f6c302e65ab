import type { PluginAnswer } from '@stowage/testkit/docker';
import type { CrashRow } from './crash-row.js';
import { writeVolumeFiles } from './volume-files.js';

/**
 * One operation the plugin is killed in, from the state it starts in to its completion after the restart. Retries
 * follow the Docker engine's plugin client (moby pkg/plugins, callWithRetry): a request whose connection failed is
 * sent again, the same body and so the same mount ID, with backoff for up to 30 s, which a restarted plugin answers.
 */
export interface CrashScenario {
  readonly name: string;
  /** Brings the row to where the operation starts, on a plugin with no failpoint armed. */
  setup(row: CrashRow): Promise<void>;
  /** The request the kill interrupts; none when the kill comes while the plugin starts (recovering what it holds). */
  interrupted?(row: CrashRow): Promise<PluginAnswer>;
  /** Right after the restart, before any retry: what must have survived the crash. */
  afterRestart?(row: CrashRow): Promise<void>;
  /** Retries the operation to completion and lets go of every mount the row holds. */
  complete(row: CrashRow): Promise<void>;
  /** Whether the target volume exists once the operation completed. */
  readonly targetExists: boolean;
}

const KILLED = 'docker-killed';
const HOLDER = 'holder';

/** An Unmount retried after a crash: done now, or already done before the crash (the ID then holds nothing). */
async function retryUnmount(row: CrashRow, id: string): Promise<void> {
  const answer = await row.request('Unmount', { Name: row.target, ID: id });
  const err = (answer.json as { Err?: string } | undefined)?.Err ?? '';
  if (answer.status !== 200 || (err !== '' && !/has no mount with ID/.test(err))) {
    row.findings.incomplete.push(`retried Unmount answered ${answer.status} ${answer.text}`);
  }
  row.forget(id);
}

/** The target volume, with files written into it. */
async function createWithData(row: CrashRow): Promise<void> {
  await row.create(row.target);
  await row.fill(row.target);
}

/** A second caller's Mount retried: it must get the holder's mount point, and leave it mounted. */
async function retrySecondMount(row: CrashRow): Promise<void> {
  const path = await row.hold(row.target, KILLED);
  if (path !== row.pathOf(HOLDER))
    row.findings.incomplete.push(`retried Mount answered ${path}, the holder has ${row.pathOf(HOLDER)}`);
  await row.verifyThrough(KILLED, 'through the retried mount');
  await row.release(KILLED);
  await row.verifyThrough(HOLDER, 'after the retried mount was released');
}

export const CREATE: CrashScenario = {
  name: 'create',
  targetExists: true,
  async setup() {},
  interrupted: (row) => row.request('Create', { Name: row.target, Opts: row.backing.createOptions }),
  async complete(row) {
    await row.create(row.target);
    // Usable, not just listed: a half-made volume would fail here.
    await row.verifyVolume(row.target, 'after the retried create');
  },
};

export const FIRST_MOUNT: CrashScenario = {
  name: 'first mount',
  targetExists: true,
  async setup(row) {
    await createWithData(row);
  },
  interrupted: (row) => row.request('Mount', { Name: row.target, ID: KILLED }),
  async complete(row) {
    await row.hold(row.target, KILLED);
    await row.verifyThrough(KILLED, 'through the retried mount');
    await row.release(KILLED);
  },
};

export const SECOND_MOUNT: CrashScenario = {
  name: 'mount while held',
  targetExists: true,
  async setup(row) {
    await createWithData(row);
    await row.hold(row.target, HOLDER);
  },
  interrupted: (row) => row.request('Mount', { Name: row.target, ID: KILLED }),
  afterRestart: (row) => row.verifyThrough(HOLDER, 'after the restart'),
  async complete(row) {
    await retrySecondMount(row);
    await row.release(HOLDER);
  },
};

export const LAST_UNMOUNT: CrashScenario = {
  name: 'last unmount',
  targetExists: true,
  async setup(row) {
    await createWithData(row);
    await row.hold(row.target, KILLED);
  },
  interrupted: (row) => row.request('Unmount', { Name: row.target, ID: KILLED }),
  async complete(row) {
    await retryUnmount(row, KILLED);
    await row.verifyVolume(row.target, 'after the retried unmount');
  },
};

export const UNMOUNT_WHILE_HELD: CrashScenario = {
  name: 'unmount while held',
  targetExists: true,
  async setup(row) {
    await createWithData(row);
    await row.hold(row.target, HOLDER);
    await row.hold(row.target, KILLED);
  },
  interrupted: (row) => row.request('Unmount', { Name: row.target, ID: KILLED }),
  afterRestart: (row) => row.verifyThrough(HOLDER, 'after the restart'),
  async complete(row) {
    await retryUnmount(row, KILLED);
    await row.verifyThrough(HOLDER, 'after the retried unmount');
    await row.release(HOLDER);
  },
};

export const REMOVE: CrashScenario = {
  name: 'remove',
  targetExists: false,
  async setup(row) {
    await createWithData(row);
  },
  interrupted: (row) => row.request('Remove', { Name: row.target }),
  async complete(row) {
    const answer = await row.request('Remove', { Name: row.target });
    const err = (answer.json as { Err?: string } | undefined)?.Err ?? '';
    // Docker asks Get before Remove and drops its record when the volume is gone: "not found" completes it too.
    if (answer.status !== 200 || (err !== '' && !/not found/.test(err))) {
      row.findings.incomplete.push(`retried Remove answered ${answer.status} ${answer.text}`);
    }
  },
};

export const STARTUP: CrashScenario = {
  name: 'start-up while held',
  targetExists: true,
  async setup(row) {
    await createWithData(row);
    await row.hold(row.target, HOLDER);
  },
  afterRestart: (row) => row.verifyThrough(HOLDER, 'after the restart'),
  async complete(row) {
    await row.release(HOLDER);
    await row.verifyVolume(row.target, 'after the holder let go');
  },
};

/** The first Mount of a volume that never held data: where a relocatable volume is formatted. */
export const FIRST_MOUNT_OF_BLANK: CrashScenario = {
  name: 'first mount of a blank volume',
  targetExists: true,
  async setup(row) {
    await row.create(row.target);
  },
  interrupted: (row) => row.request('Mount', { Name: row.target, ID: KILLED }),
  async complete(row) {
    const path = await row.hold(row.target, KILLED);
    row.remember(row.target, await writeVolumeFiles(path));
    await row.verifyThrough(KILLED, 'through the retried mount');
    await row.release(KILLED);
    // Through a new mount (a new attach, for EBS): the files must be on the volume, not only in this host's cache,
    // and the file system made by the retry must not be made again.
    await row.verifyVolume(row.target, 'after the retried mount was released');
  },
};

// How often a Mount that answers a cross-zone move is still under way is sent again: the move goes on in the
// background meanwhile (moto completes snapshots at once, so one answer normally suffices).
const MOVE_MOUNT_ATTEMPTS = 4;

/** A Mount of a volume in another zone, sent again (same ID) while the plugin answers that the move goes on. */
async function holdWhileMoving(row: CrashRow, id: string): Promise<string> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await row.hold(row.target, id);
    } catch (error) {
      if (attempt >= MOVE_MOUNT_ATTEMPTS || !/is moving .*retry shortly/.test((error as Error).message)) throw error;
    }
  }
}

/**
 * The first Mount on this node of a volume made, filled and let go in another zone: the plugin moves it here by
 * snapshot before it attaches it.
 */
export const CROSS_ZONE_MOVE: CrashScenario = {
  name: 'mount moving the volume across zones',
  targetExists: true,
  async setup(row) {
    await row.createElsewhere(row.target);
  },
  interrupted: (row) => row.request('Mount', { Name: row.target, ID: KILLED }),
  async complete(row) {
    await holdWhileMoving(row, KILLED);
    await row.verifyThrough(KILLED, 'through the retried mount, after the move');
    await row.release(KILLED);
  },
};
