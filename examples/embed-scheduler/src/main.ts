/**
 * A toy scheduler embedding Stowage: no adapter, no protocol, just the engine. Run it as root (loop mounts):
 * `node dist/main.js`. It prints each step and exits 1 if any expectation failed, 2 if it could not run.
 */
import { Checklist } from './checklist.js';
import { runScheduler } from './scheduler-run.js';

const check = new Checklist((line) => console.log(line));
try {
  await runScheduler(check);
  console.log(check.failures === 0 ? 'all expectations held' : `${check.failures} expectation(s) failed`);
  process.exitCode = check.failures === 0 ? 0 : 1;
} catch (error) {
  console.error(`embed-scheduler: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 2;
}
