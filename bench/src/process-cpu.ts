import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU time a process has run (ms), all its threads: the sum of /proc/PID/task/TID/schedstat's first field
 * (nanoseconds on the CPU), exact where /proc/PID/stat counts 10 ms ticks.
 */
export function cpuMs(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // A thread that ended between the listing and the read.
    }
  }
  return ns / 1e6;
}
