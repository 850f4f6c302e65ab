import type { E2eEnvironment } from './e2e-environment.js';
import { waitUntil } from '@stowage/testkit/docker';

/** The ids of the running containers of a swarm service's tasks on this (single) node. */
export async function serviceTaskContainers(env: E2eEnvironment, service: string): Promise<string[]> {
  const out = await env.dockerOk(['ps', '-q', '--filter', `label=com.docker.swarm.service.name=${service}`]);
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

/** Waits (bounded) until `count` tasks of `service` run, and returns their containers; says `service ps` if not. */
export function waitForServiceTasks(env: E2eEnvironment, service: string, count: number): Promise<string[]> {
  return waitUntil(
    `${count} running tasks of ${service}`,
    async () => {
      const running = await serviceTaskContainers(env, service);
      return running.length === count ? running : undefined;
    },
    {
      timeoutMs: 150_000,
      intervalMs: 1_000,
      describe: async () => (await env.docker(['service', 'ps', '--no-trunc', service])).stdout,
    },
  );
}

/**
 * Waits (bounded) until no container of `service`'s tasks is left, stopped ones included: swarm removes them some
 * time after they stop, and the engine refuses to remove a volume while any container still refers to it.
 */
export function waitForTaskContainersRemoved(env: E2eEnvironment, service: string): Promise<true> {
  return waitUntil(
    `the task containers of ${service} to be removed`,
    async () => {
      const left = await env.dockerOk(['ps', '-aq', '--filter', `label=com.docker.swarm.service.name=${service}`]);
      return left.trim() === '' ? true : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
}
