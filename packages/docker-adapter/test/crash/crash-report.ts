import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CrashResult } from './crash-run.js';

const RESULTS_DIR = fileURLToPath(new URL('../../../../bench/results', import.meta.url));

/** The table the issue asks for: one line per kill, and the totals that must be 0. */
export function formatCrashTable(results: readonly CrashResult[]): string {
  const header = [
    'backing',
    'step killed at',
    'during',
    'restarts',
    'leaks found',
    'holds broken',
    'incomplete',
    'bytes lost',
  ];
  const rows = results.map((r) => [
    r.backing,
    r.step,
    r.scenario,
    String(r.restarts),
    String(r.leaks.length),
    String(r.holdsBroken.length),
    String(r.incomplete.length),
    String(r.bytesLost),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]?.length ?? 0)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  const sum = (pick: (r: CrashResult) => number) => results.reduce((total, r) => total + pick(r), 0);
  const details = results.flatMap((r) =>
    [...r.leaks, ...r.holdsBroken, ...r.incomplete].map(
      (what) => `  ${r.backing} / ${r.step} / ${r.scenario}: ${what}`,
    ),
  );
  return [
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
    `${results.length} kills; restarts ${sum((r) => r.restarts)}, leaks ${sum((r) => r.leaks.length)}, ` +
      `holds broken ${sum((r) => r.holdsBroken.length)}, incomplete ${sum((r) => r.incomplete.length)}, bytes lost ${sum((r) => r.bytesLost)}`,
    ...(details.length > 0 ? ['', 'findings:', ...details] : []),
  ].join('\n');
}

/** Writes the results beside the benchmarks' (bench/results, ignored by git); returns the file, if there is a bench/. */
export async function writeCrashResults(results: readonly CrashResult[]): Promise<string | undefined> {
  if (!existsSync(join(RESULTS_DIR, '..'))) return undefined;
  await mkdir(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, 'crash-at-every-step.json');
  await writeFile(file, `${JSON.stringify({ finishedAt: new Date().toISOString(), results }, null, 2)}\n`);
  return file;
}
