import { type Logger, StowageError, type VolumeEvent, type VolumeEvents } from '@stowage/core';
import type { RequestHandler, Response } from 'express';
import type { Registry } from 'prom-client';
import { EventStreamMetrics } from './event-stream-metrics.js';
import { type EventStreamRequest, parseEventStreamRequest } from './event-stream-request.js';

/** What the event stream reads of the hub. */
export type StreamedEvents = Pick<VolumeEvents, 'since' | 'subscribe' | 'lastSeq'>;

/** The event streams' limits; each has a default fit for production (tests lower them). */
export interface EventStreamLimits {
  /** Streams open at once; one more is answered 503. 64 by default. */
  readonly maxStreams?: number;
  /**
   * Bytes written to a stream that its client has not yet taken (in the response and its socket's buffers): past
   * this, the client is cut off rather than the server holding ever more for it. 1 MiB by default, about a thousand
   * events.
   */
  readonly maxUnreadBytes?: number;
  /** How often a quiet stream sends a comment line, so proxies and load balancers keep it open. 15 s by default. */
  readonly heartbeatMs?: number;
  /** How long a client waits before it reconnects when its stream ends (SSE's `retry:`). 3 s by default. */
  readonly retryMs?: number;
}

/** Options of {@link eventStreamHandler}. */
export interface EventStreamOptions {
  readonly events: StreamedEvents;
  readonly logger: Logger;
  /** Where the streams' series go (the ops server's metrics registry). */
  readonly registry: Registry;
  readonly limits?: EventStreamLimits;
  /** Aborted when the server closes: every stream ends (a stream never ends by itself, so it would hold the close). */
  readonly closing?: AbortSignal;
}

const DEFAULT_MAX_STREAMS = 64;
const DEFAULT_MAX_UNREAD_BYTES = 1024 * 1024;
const DEFAULT_HEARTBEAT_MS = 15_000;
/** The spec leaves the default to clients (browsers wait about 3 s; some far longer). */
const DEFAULT_RETRY_MS = 3_000;
/** The type of the message that tells a client it missed events the server no longer has. */
export const RESET_EVENT = 'reset';

/**
 * `GET /v1/events`: the hub's events as Server-Sent Events, each `id: <seq>`, `event: <type>`, `data: <the event as
 * JSON>`. A client that gives the last id it saw (`Last-Event-ID`, or `?since=`) first gets what came after it from
 * the hub's buffer; when the buffer no longer holds all of it (or the id is not this process's: the plugin
 * restarted), a `reset` message comes first, so the client reads the volumes afresh, then whatever the buffer holds.
 * `?types=` keeps only the types named. Bad parameters answer 400, one stream past the cap 503.
 */
export function eventStreamHandler(options: EventStreamOptions): RequestHandler {
  const { events, logger, closing } = options;
  const maxStreams = options.limits?.maxStreams ?? DEFAULT_MAX_STREAMS;
  const maxUnreadBytes = options.limits?.maxUnreadBytes ?? DEFAULT_MAX_UNREAD_BYTES;
  const heartbeatMs = options.limits?.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const retryMs = options.limits?.retryMs ?? DEFAULT_RETRY_MS;
  const metrics = new EventStreamMetrics(options.registry);
  const open = new Set<() => void>();
  closing?.addEventListener('abort', () => {
    for (const end of [...open]) end();
  });

  return (req, res) => {
    let asked: EventStreamRequest;
    try {
      asked = parseEventStreamRequest(req.originalUrl, req.get('last-event-id'));
    } catch (error) {
      if (!StowageError.is(error)) throw error;
      res.status(400).json({ error: error.message });
      return;
    }
    if (closing?.aborted) {
      res.status(503).set('Connection', 'close').json({ error: 'the server is closing' });
      return;
    }
    if (open.size >= maxStreams) {
      metrics.refused.inc();
      res
        .status(503)
        .set('Retry-After', '5')
        .json({ error: `${maxStreams} event streams are open, the most this server serves; retry later` });
      return;
    }
    startHeaders(res);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }

    let ended = false;
    let unsubscribe: () => void = () => undefined;
    const heartbeat = setInterval(() => write(': keep-alive\n\n'), heartbeatMs);
    heartbeat.unref();
    const finish = (): void => {
      if (ended) return;
      ended = true;
      clearInterval(heartbeat);
      unsubscribe();
      open.delete(end);
      metrics.open.dec();
    };
    const end = (): void => {
      finish();
      res.end();
    };
    const write = (text: string): void => {
      if (ended) return;
      res.write(text);
      // The socket's buffer as well as the response's: a client that stops reading fills both.
      if (res.writableLength > maxUnreadBytes) {
        metrics.dropped.inc();
        logger.warn(
          { remote: req.socket.remoteAddress, unreadBytes: res.writableLength },
          'event stream client dropped: it does not read its events',
        );
        finish();
        res.destroy();
      }
    };
    const send = (event: VolumeEvent): void => {
      if (asked.types && !asked.types.has(event.type)) return;
      write(`id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
    };
    open.add(end);
    metrics.open.inc();
    res.on('close', finish);

    // since() and subscribe() in one synchronous step: no event can fall between the replay and the live stream.
    const replay = asked.after === undefined ? undefined : events.since(asked.after);
    unsubscribe = events.subscribe(send);
    write(`retry: ${retryMs}\n\n`);
    if (replay) {
      if (!replay.complete) write(resetMessage(events, replay.events, asked.after as number));
      for (const event of replay.events) send(event);
    }
  };
}

function startHeaders(res: Response): void {
  res.status(200).set({
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-store',
    // A stream holds its connection until it ends, and ending it then closes the connection: a server that closes
    // is not held by a connection kept alive after its stream ended.
    Connection: 'close',
    // nginx buffers answers by default, which would hold events back.
    'X-Accel-Buffering': 'no',
  });
  res.flushHeaders();
}

/**
 * The message that tells the client it missed events: its id is the seq just before the first event replayed, so a
 * client that reconnects after it resumes from there, not from its stale id (which would reset it again).
 */
function resetMessage(events: StreamedEvents, replayed: readonly VolumeEvent[], after: number): string {
  const resumeFrom = replayed.length > 0 ? (replayed[0] as VolumeEvent).seq - 1 : events.lastSeq;
  const data = {
    reason:
      after > events.lastSeq
        ? 'the last event id is not one of this process (it restarted); read the volumes afresh'
        : 'events after the last event id are no longer kept; read the volumes afresh',
    lastEventId: after,
    oldestKept: replayed.length > 0 ? resumeFrom + 1 : undefined,
  };
  return `id: ${resumeFrom}\nevent: ${RESET_EVENT}\ndata: ${JSON.stringify(data)}\n\n`;
}
