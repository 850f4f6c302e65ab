import { StowageError, VOLUME_EVENT_TYPES, type VolumeEventType } from '@stowage/core';

/** What a client of `GET /v1/events` asks for. */
export interface EventStreamRequest {
  /**
   * The seq of the last event the client saw (its `Last-Event-ID`, else `?since=`): the stream first replays what
   * came after it. Undefined: live events only.
   */
  readonly after?: number;
  /** The event types to send (`?types=a,b`); undefined: every type. */
  readonly types?: ReadonlySet<VolumeEventType>;
}

const KNOWN_TYPES = new Set<string>(VOLUME_EVENT_TYPES);
const PARAMETERS = new Set(['since', 'types']);
/** Longer than any seq a process reaches: a longer value is garbage, not a number to parse. */
const MAX_SEQ_DIGITS = 15;

/**
 * Reads a `GET /v1/events` request: its URL's query (the ops app parses no query itself) and its `Last-Event-ID`
 * header. Throws InvalidArgument, with a message for the client, on an unknown or repeated parameter, a seq that is
 * not a whole number, or an unknown event type. `Last-Event-ID` wins over `?since=`: an EventSource that reconnects
 * keeps its first URL and sends the last id it saw in the header.
 */
export function parseEventStreamRequest(url: string, lastEventId: string | undefined): EventStreamRequest {
  const query = new URL(url, 'http://ops.invalid').searchParams;
  for (const name of new Set(query.keys())) {
    if (!PARAMETERS.has(name)) {
      throw StowageError.invalidArgument(`unknown query parameter ${JSON.stringify(name)}; use since and types`);
    }
    if (query.getAll(name).length > 1) throw StowageError.invalidArgument(`query parameter ${name} given twice`);
  }
  const since = query.get('since');
  const types = query.get('types');
  const header = lastEventId?.trim();
  return {
    after:
      header !== undefined && header !== ''
        ? parseSeq(header, 'Last-Event-ID')
        : since === null
          ? undefined
          : parseSeq(since, 'since'),
    types: types === null ? undefined : parseTypes(types),
  };
}

function parseSeq(text: string, what: string): number {
  if (!/^\d+$/.test(text) || text.length > MAX_SEQ_DIGITS) {
    throw StowageError.invalidArgument(
      `${what}: must be an event id (a whole number of 0 or more), got ${quote(text)}`,
    );
  }
  return Number(text);
}

function parseTypes(text: string): ReadonlySet<VolumeEventType> {
  const names = text.split(',').map((name) => name.trim());
  const unknown = names.filter((name) => !KNOWN_TYPES.has(name));
  if (unknown.length > 0) {
    throw StowageError.invalidArgument(
      `types: unknown event type ${unknown.map(quote).join(', ')}; known: ${VOLUME_EVENT_TYPES.join(', ')}`,
    );
  }
  return new Set(names as VolumeEventType[]);
}

/** A client's text in an error message, bounded: a client may send anything. */
function quote(text: string): string {
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 63)}…` : text);
}
