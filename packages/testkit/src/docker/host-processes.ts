import { readdir, readFile } from 'node:fs/promises';

export interface HostProcess {
  readonly pid: number;
  readonly argv: readonly string[];
}

/** Every process visible in /proc with its command line (kernel threads and vanished processes left out). */
export async function listProcesses(): Promise<HostProcess[]> {
  const found: HostProcess[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const raw = await readFile(`/proc/${entry}/cmdline`, 'utf8');
      if (raw.length === 0) continue;
      found.push({ pid: Number(entry), argv: raw.replace(/\0$/, '').split('\0') });
    } catch {
      // Gone between readdir and read.
    }
  }
  return found;
}

/** True while a process with this id exists (a zombie counts until reaped). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
