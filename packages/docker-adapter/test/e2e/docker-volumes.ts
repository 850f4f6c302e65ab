import type { E2eEnvironment } from './e2e-environment.js';

/** `docker volume inspect`'s view of one volume (the fields the tests read). */
export interface InspectedVolume {
  readonly Name: string;
  readonly Driver: string;
  readonly Mountpoint: string;
  readonly Scope?: string;
  readonly Status?: Record<string, unknown>;
  readonly Options?: Record<string, string> | null;
  readonly CreatedAt?: string;
}

/** `docker volume inspect NAME`, parsed; rejects with docker's stderr when it fails. */
export async function inspectVolume(env: E2eEnvironment, name: string): Promise<InspectedVolume> {
  const [volume] = JSON.parse(await env.dockerOk(['volume', 'inspect', name])) as InspectedVolume[];
  if (!volume) throw new Error(`docker volume inspect ${name} printed no volume`);
  return volume;
}

/** `docker volume ls` as `driver name` lines. */
export async function listVolumes(env: E2eEnvironment): Promise<string[]> {
  const out = await env.dockerOk(['volume', 'ls', '--format', '{{.Driver}} {{.Name}}']);
  return out
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
}
