import { VOLUME_EVENT_TYPES } from '@stowage/core';
import { EventSource } from 'eventsource';
import { RESET_EVENT } from '../../src/event-stream.js';

/** One message an EventSource received. */
export interface Received {
  readonly type: string;
  readonly id: string;
  readonly data: Record<string, unknown>;
}

/** A real SSE client (the `eventsource` package) on `url`, recording every message of a known type in order. */
export interface RecordingClient {
  readonly received: Received[];
  /** How many times the client opened its stream (more than 1: it reconnected). */
  readonly opens: number;
  /** The status of the last answer that failed the stream, if one did. */
  readonly failedStatus: number | undefined;
  close(): void;
}

/** Opens an EventSource on `url`, sending `headers` (a bearer token) with every connection. */
export function recordEvents(url: string, headers: Record<string, string> = {}): RecordingClient {
  const received: Received[] = [];
  let opens = 0;
  let failedStatus: number | undefined;
  const source = new EventSource(url, {
    fetch: (input, init) => fetch(input, { ...init, headers: { ...init?.headers, ...headers } }),
  });
  for (const type of [...VOLUME_EVENT_TYPES, RESET_EVENT]) {
    source.addEventListener(type, (message) => {
      received.push({ type, id: message.lastEventId, data: JSON.parse(message.data) as Record<string, unknown> });
    });
  }
  source.addEventListener('open', () => {
    opens += 1;
  });
  source.addEventListener('error', (error) => {
    if (typeof error.code === 'number') failedStatus = error.code;
  });
  return {
    received,
    get opens() {
      return opens;
    },
    get failedStatus() {
      return failedStatus;
    },
    close: () => source.close(),
  };
}

/** Polls `check` until it returns true, failing with `what` after `ms`. */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
