import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));

/** Runs the built program as a user would, never rejecting: the exit code is part of what is asserted. */
function runProgram(): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['dist/main.js'], { cwd: packageDir, timeout: 50_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

describe.skipIf(process.getuid?.() !== 0)('the embedded scheduler (needs root for loop mounts)', () => {
  it('creates, shares between two tasks, lists and removes volumes on two backings, and exits 0', async () => {
    expect(existsSync(`${packageDir}/dist/main.js`), 'build the package first').toBe(true);
    const { code, stdout, stderr } = await runProgram();
    expect(code, `${stdout}\n${stderr}`).toBe(0);
    expect(stdout).not.toContain('not ok');
    for (const line of [
      'ok - the engine serves the local and loopfs backings',
      'ok - created volume scratch on backing local',
      'ok - created volume data on backing loopfs, 64 MiB',
      'ok - both tasks get the same path',
      'ok - the engine counts two mounts',
      'ok - task-2 reads what task-1 wrote',
      'ok - after task-1 leaves, the volume stays mounted for task-2',
      'ok - after task-2 leaves too, the volume is unmounted',
      'ok - list shows both volumes with their backings',
      'ok - both volumes are removed',
      'ok - nothing is left mounted',
      'all expectations held',
    ]) {
      expect(stdout).toContain(line);
    }
  });
});
