import { readFile } from 'node:fs/promises';
import { runCommand } from './run-command.js';

// /proc/self/mountinfo escapes space, tab, newline and backslash in paths as octal.
function unescapeMountPath(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** Mount points of this mount namespace at or below `dir`, deepest first. */
export async function mountsUnder(dir: string): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  const points = text
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((field): field is string => field !== undefined)
    .map(unescapeMountPath)
    .filter((point) => point === dir || point.startsWith(prefix));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/**
 * Unmounts everything at or below `dir` (deepest first; lazily when busy), so the directory can be removed.
 * Bounded: stacked mounts need several rounds, a stuck one must not hang the teardown.
 */
export async function unmountAllUnder(dir: string): Promise<string[]> {
  const failures: string[] = [];
  for (let round = 0; round < 5; round += 1) {
    const points = await mountsUnder(dir);
    if (points.length === 0) return [];
    for (const point of points) {
      const plain = await runCommand('umount', [point]);
      if (plain.code !== 0) {
        const lazy = await runCommand('umount', ['-l', point]);
        if (lazy.code !== 0) failures.push(`${point}: ${lazy.stderr.trim()}`);
      }
    }
  }
  const left = await mountsUnder(dir);
  return left.length === 0 ? [] : [...left.map((p) => `still mounted: ${p}`), ...failures];
}
