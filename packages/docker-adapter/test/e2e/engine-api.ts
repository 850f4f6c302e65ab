import type { DockerEngine } from '@stowage/testkit/docker';
import { rawPost } from '../support/raw-post.js';

/** An answer of the Docker Engine API: the status and the body, parsed when it is JSON. */
export interface EngineAnswer<T = unknown> {
  readonly status: number;
  readonly text: string;
  readonly body: T;
}

/**
 * One Engine API call on `engine`'s socket, for what Debian's docker CLI (20.10, API 1.41) cannot say: cluster
 * volumes (API 1.42). Never rejects on an error status; {@link engineApiOk} does.
 */
export async function engineApi<T = unknown>(
  engine: DockerEngine,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<EngineAnswer<T>> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const answer = await rawPost(engine.socket, path, payload, {
    method,
    headers: payload === undefined ? {} : { 'Content-Type': 'application/json' },
  });
  let parsed: unknown;
  try {
    parsed = answer.text === '' ? undefined : JSON.parse(answer.text);
  } catch {
    parsed = undefined;
  }
  return { status: answer.status, text: answer.text, body: parsed as T };
}

/** Like {@link engineApi}, but rejects with the call and the engine's message unless the status is 2xx. */
export async function engineApiOk<T = unknown>(
  engine: DockerEngine,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<T> {
  const answer = await engineApi<T>(engine, method, path, body);
  if (answer.status < 200 || answer.status > 299) {
    throw new Error(`${method} ${path} answered ${answer.status}: ${answer.text.trim()}`);
  }
  return answer.body;
}
