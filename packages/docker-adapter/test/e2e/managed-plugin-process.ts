import { readFile } from 'node:fs/promises';
import { listProcesses } from '@stowage/testkit/docker';

/**
 * The node process of the managed plugin `pluginId`, found by its cgroup, which the engine names after the plugin's
 * ID (its root reads `/` from here: the plugin has a mount namespace of its own, seen at /proc/<pid>/mountinfo).
 */
export async function managedPluginPid(pluginId: string): Promise<number> {
  const seen: string[] = [];
  for (const candidate of await listProcesses()) {
    if (!candidate.argv.includes('/opt/stowage/dist/cli/main.js')) continue;
    const cgroup = await readFile(`/proc/${candidate.pid}/cgroup`, 'utf8').catch(() => '');
    if (cgroup.includes(pluginId)) return candidate.pid;
    seen.push(`${candidate.pid}: ${cgroup.trim()}`);
  }
  throw new Error(
    `no process runs /opt/stowage/dist/cli/main.js in the cgroup of plugin ${pluginId}; seen ${seen.join(', ')}`,
  );
}
