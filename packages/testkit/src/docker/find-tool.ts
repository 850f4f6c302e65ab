import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The first executable among `preferred` paths, else `name` on PATH (plus the sbin directories a non-login root
 * shell may lack), else undefined.
 */
export async function findTool(name: string, preferred: readonly string[] = []): Promise<string | undefined> {
  for (const path of preferred) {
    if (await isExecutable(path)) return path;
  }
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    if (dir && (await isExecutable(join(dir, name)))) return join(dir, name);
  }
  return undefined;
}
