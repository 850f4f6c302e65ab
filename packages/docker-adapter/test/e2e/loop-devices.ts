import { runChecked, runCommand } from '@stowage/testkit/docker';

/** A loop device and the file behind it. */
export interface LoopDevice {
  readonly name: string;
  readonly backingFile: string;
}

/** Every loop device set up on the host (`losetup --list`), with the file behind it. */
export async function loopDevices(): Promise<LoopDevice[]> {
  const out = await runChecked('losetup', ['--json', '--list', '--output', 'NAME,BACK-FILE']);
  // An empty list prints nothing at all on some util-linux versions.
  if (out.trim() === '') return [];
  const parsed = JSON.parse(out) as { loopdevices?: Array<{ name: string; 'back-file': string | null }> };
  return (parsed.loopdevices ?? []).map((d) => ({ name: d.name, backingFile: d['back-file'] ?? '' }));
}

/** The loop devices whose backing file is under `dir`. */
export async function loopDevicesUnder(dir: string): Promise<LoopDevice[]> {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return (await loopDevices()).filter((d) => d.backingFile.startsWith(prefix));
}

/**
 * Detaches the loop devices left with a backing file under `dir` (a test's device plane stops with its own), and
 * throws naming them, so a teardown both cleans up and reports the leak.
 */
export async function detachLoopDevicesLeftUnder(dir: string): Promise<void> {
  const left = await loopDevicesUnder(dir);
  for (const loop of left) await runCommand('losetup', ['-d', loop.name]);
  if (left.length > 0) throw new Error(`left ${left.map((l) => `${l.name} (${l.backingFile})`).join(', ')}`);
}
