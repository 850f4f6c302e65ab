import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { QuietGate } from '../src/quiet-gate.js';
import { VolumeBlanks } from '../src/volume-blanks.js';
import { POOL_FS, type VolumeFs } from '../src/volume-fs.js';
import { VolumeLayout } from '../src/volume-layout.js';
import { RecordingLogger } from './support/recording-logger.js';

let root: string;
let logger: RecordingLogger;
let blanks: VolumeBlanks | undefined;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'stowage-blanks-'));
  logger = new RecordingLogger();
});

afterEach(async () => {
  await blanks?.close();
  blanks = undefined;
  await rm(root, { recursive: true, force: true });
});

/** The pool's calls, with mkdtemp failing while `failing` is set, as on a full disk. */
function diskThatFills(): VolumeFs & { failing: boolean; made: number } {
  const fs = {
    ...POOL_FS,
    failing: false,
    made: 0,
    mkdtemp: async (prefix: string) => {
      if (fs.failing)
        throw Object.assign(new Error(`ENOSPC: no space left on device, mkdtemp '${prefix}XXXXXX'`), {
          code: 'ENOSPC',
        });
      fs.made += 1;
      return POOL_FS.mkdtemp(prefix);
    },
  };
  return fs;
}

const HOUR = 3_600_000;

describe('VolumeBlanks', () => {
  it('makes none before the backing starts, then as many as it keeps', async () => {
    blanks = new VolumeBlanks(new VolumeLayout(root), POOL_FS, logger, undefined, 3);
    expect(blanks.take()).toBeUndefined();
    await blanks.settled();
    expect(await readdir(root)).toEqual([]);
    blanks.start();
    await blanks.settled();
    expect(blanks.size).toBe(3);
    expect((await readdir(root)).length).toBe(3);
  });

  it('waits for the calls to pause before making any, unless asked to settle', async () => {
    const gate = new QuietGate({ quietMs: HOUR, maxWaitMs: HOUR });
    gate.begin();
    blanks = new VolumeBlanks(new VolumeLayout(root), POOL_FS, logger, gate, 2);
    blanks.start();
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(await readdir(root)).toEqual([]);
    await blanks.settled();
    expect(blanks.size).toBe(2);
  });

  it('logs a blank it cannot make, hands out none meanwhile, and tries again at the next take', async () => {
    const fs = diskThatFills();
    fs.failing = true;
    blanks = new VolumeBlanks(new VolumeLayout(root), fs, logger, undefined, 2);
    blanks.start();
    await blanks.settled();
    expect(blanks.size).toBe(0);
    expect(logger.at('warn')).toEqual([
      {
        level: 'warn',
        fields: { root, err: expect.stringContaining('ENOSPC') },
        message: 'could not make a blank volume for the next create',
      },
    ]);
    expect(await readdir(root)).toEqual([]);

    fs.failing = false;
    expect(blanks.take()).toBeUndefined();
    await blanks.settled();
    expect(blanks.size).toBe(2);
    const taken = blanks.take();
    expect(taken).toMatch(new RegExp(`^${root}/\\.blank-`));
    expect(blanks.take()).not.toBe(taken);
  });

  it('deletes a blank it could only half make', async () => {
    const fs = {
      ...POOL_FS,
      writeNewFile: async () => Promise.reject(Object.assign(new Error('EIO'), { code: 'EIO' })),
    };
    blanks = new VolumeBlanks(new VolumeLayout(root), fs, logger, undefined, 1);
    blanks.start();
    await blanks.settled();
    expect(blanks.size).toBe(0);
    expect(await readdir(root)).toEqual([]);
  });

  it('makes no more after close', async () => {
    const fs = diskThatFills();
    blanks = new VolumeBlanks(new VolumeLayout(root), fs, logger, undefined, 4);
    blanks.start();
    await blanks.settled();
    await blanks.close();
    const made = fs.made;
    expect(made).toBe(4);
    expect(blanks.take()).toBeDefined();
    await blanks.settled();
    expect(fs.made).toBe(made);
  });

  it('under calls that never pause, makes all the missing blanks at the deadline', async () => {
    const gate = new QuietGate({ quietMs: HOUR, maxWaitMs: 30 });
    gate.begin();
    const waits = vi.spyOn(gate, 'wait');
    blanks = new VolumeBlanks(new VolumeLayout(root), POOL_FS, logger, gate, 3);
    blanks.start();
    await vi.waitFor(() => expect(blanks?.size).toBe(3), { timeout: 10_000 });
    expect(waits).toHaveBeenCalledTimes(1);
    gate.done();
  });

  it('after a pause, stops making blanks when a call comes in', async () => {
    const gate = new QuietGate({ quietMs: 10, maxWaitMs: HOUR });
    const fs = diskThatFills();
    const made = {
      ...fs,
      mkdtemp: async (prefix: string) => {
        // The first blank's making meets a call, which stays under way.
        if (fs.made === 0) gate.begin();
        return fs.mkdtemp(prefix);
      },
    };
    blanks = new VolumeBlanks(new VolumeLayout(root), made, logger, gate, 3);
    blanks.start();
    await vi.waitFor(() => expect(blanks?.size).toBe(1), { timeout: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(blanks.size).toBe(1);
    gate.done();
    await vi.waitFor(() => expect(blanks?.size).toBe(3), { timeout: 10_000 });
  });
});
