import { ENGINE_FAILPOINTS, MOUNT_TABLE_FAILPOINTS } from '@stowage/core/testing';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { LOCAL_BACKING, sharedBacking, type CrashBacking } from './crash-backings.js';
import { relocatableBacking } from './crash-ebs-backing.js';
import { formatCrashTable, writeCrashResults } from './crash-report.js';
import { runCrashRow, type CrashResult } from './crash-run.js';
import { ENGINE_STEPS, MOUNT_TABLE_STEPS } from './crash-steps.js';
import { MotoCloud } from '@stowage/testkit/moto';

/**
 * Issue 5, "crash at every step": the built plugin is killed with SIGKILL at each failpoint of the engine, its mount
 * table and the backing's driver, in each operation that passes it (or while it starts, recovering what it holds), then restarted on the same state. The operation must complete
 * when retried, no mount or cloud resource may be left that nobody holds, no mount a caller holds may go, and every
 * file written before the kill must read back identical.
 */
const RELOCATABLE = relocatableBacking();
const BACKINGS: readonly CrashBacking[] = [
  LOCAL_BACKING,
  sharedBacking({ accessPoints: false }),
  sharedBacking({ accessPoints: true }),
  RELOCATABLE,
];

/** The engine's steps a backing that mounts in place never passes: the intents written before a backend call. */
const INTENT_STEPS: ReadonlySet<string> = new Set(['mount:after-intent', 'unmount:after-intent']);

const ROWS = BACKINGS.flatMap((backing) =>
  Object.entries({ ...ENGINE_STEPS, ...MOUNT_TABLE_STEPS, ...backing.driverSteps })
    .filter(([step]) => !(backing.mountsInPlace && INTENT_STEPS.has(step)))
    .flatMap(([step, scenarios]) => scenarios.map((scenario) => ({ backing, step, scenario }))),
).map((row, index) => ({ ...row, index }));

// Each row has its own plugin, socket, directories and file system, so rows run side by side (the project's
// maxConcurrency): most of a row is waiting for a process to start or for an fsync. Relocatable rows take loop
// devices (their volumes' and their instances' root volumes'), of which the machine has 8: they run one at a time,
// beside the other rows (see their suite below).

describe.concurrent('the plugin killed at every step of create, mount, unmount and remove', () => {
  let cloud: MotoCloud | undefined;
  const results: Array<CrashResult | undefined> = [];

  beforeAll(async () => {
    if (BACKINGS.some((backing) => backing.needsCloud)) cloud = await MotoCloud.start();
  }, 300_000);

  afterAll(async () => {
    await cloud?.stop();
    const done = results.filter((result): result is CrashResult => result !== undefined);
    if (done.length === 0) return;
    const file = await writeCrashResults(done);
    console.log(`\ncrash at every step\n\n${formatCrashTable(done)}${file ? `\n\n(written to ${file})` : ''}\n`);
  });

  it('has a scenario for every failpoint of the engine and of each driver', ({ expect }) => {
    expect(Object.keys(ENGINE_STEPS).sort()).toEqual([...ENGINE_FAILPOINTS].sort());
    expect(Object.keys(MOUNT_TABLE_STEPS).sort()).toEqual([...MOUNT_TABLE_FAILPOINTS].sort());
    for (const backing of BACKINGS) {
      expect(Object.keys(backing.driverSteps).sort(), backing.name).toEqual([...backing.driverFailpoints].sort());
    }
    for (const steps of [ENGINE_STEPS, MOUNT_TABLE_STEPS, ...BACKINGS.map((backing) => backing.driverSteps)]) {
      for (const [step, scenarios] of Object.entries(steps)) expect(scenarios.length, step).toBeGreaterThan(0);
    }
  });

  function crashRow(
    { backing, step, scenario, index }: (typeof ROWS)[number],
    options: { sequential?: boolean } = {},
  ): void {
    // The chained form: in a concurrent suite, `{ sequential: true }` as a test option does not win over the suite's.
    (options.sequential ? it.sequential : it)(
      `${backing.name}: killed at ${step} during ${scenario.name}`,
      async ({ expect }) => {
        const result = await runCrashRow(backing, step, scenario, cloud);
        // In table order, whatever order the rows finish in.
        results[index] = result;
        expect(result.restarts).toBe(1);
        expect(result.incomplete).toEqual([]);
        expect(result.holdsBroken).toEqual([]);
        expect(result.leaks).toEqual([]);
        expect(result.bytesLost).toBe(0);
        // Bounds only a row that hangs: rows run three at a time, and on one loaded core a row's starts, kill and
        // restart take minutes (the harness's own waits are Docker's deadlines).
      },
      600_000,
    );
  }

  // A concurrent suite takes one of the maxConcurrency places for as long as its rows, which are sequential within
  // it, run; declared before the other rows so that it has its place from the start (places go in order).
  describe.concurrent(`${RELOCATABLE.name}, one row at a time`, () => {
    for (const row of ROWS) if (row.backing === RELOCATABLE) crashRow(row, { sequential: true });
  });

  for (const row of ROWS) if (row.backing !== RELOCATABLE) crashRow(row);
});
