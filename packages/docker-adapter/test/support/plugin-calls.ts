import { expect } from 'vitest';
import { postJson } from './raw-post.js';

/** One plugin call, as the Docker engine makes it; the decoded answer. */
export async function call(socket: string, method: string, body: unknown): Promise<Record<string, unknown>> {
  return (await postJson(socket, `/${method}`, body)).json<Record<string, unknown>>();
}

export async function mountpoint(socket: string, name: string, id: string): Promise<string> {
  const answer = await call(socket, 'VolumeDriver.Mount', { Name: name, ID: id });
  expect(answer.Err).toBe('');
  return answer.Mountpoint as string;
}
