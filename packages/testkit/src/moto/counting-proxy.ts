import type { IncomingHttpHeaders } from 'node:http';
import { startHttpRelay } from './http-relay.js';
import { queryParameters, signedScope } from './signed-request.js';

/**
 * An HTTP proxy in front of a moto server that counts the AWS API calls passing through it, by action.
 *
 * Why a proxy and not moto's own request recorder (`/moto-api/recorder`): the recorder is one switch for the whole
 * server, so it records every client at once, test harness included (the fake udev polls DescribeVolumes every
 * 50 ms), and it writes every request to a file. A proxy counts only the clients pointed at it, so a test or
 * benchmark measures the code under test alone, and several counters can share one moto server.
 *
 * Requests and answers pass through unmodified: the body is read whole (to find the action) and then sent on with
 * the same method, path and headers; status, headers and body of moto's answer come back as they are (sent with
 * their length rather than chunked).
 */
export interface CountingProxy {
  /** `http://127.0.0.1:<port>`: give it to the SDK clients under test instead of moto's endpoint. */
  readonly endpoint: string;
  /** Calls seen since the start or the last {@link reset}, by action (see {@link actionOf}), sorted by action. */
  counts(): Record<string, number>;
  /** All calls seen since the start or the last {@link reset}. */
  total(): number;
  /**
   * The calls of one query-protocol `action` (`ec2:DescribeVolumes`) since the start or the last {@link reset}, by
   * what each looked up (see {@link lookupOf}): one action serves lookups of different kinds (by name tag, by volume
   * id, by attached instance), and a figure such as "one DescribeVolumes per Mount for its lookup" counts one kind.
   */
  lookups(action: string): Record<string, number>;
  reset(): void;
  stop(): Promise<void>;
}

/** Starts a counting proxy to `target` (a moto server's endpoint) on a free loopback port. */
export async function startCountingProxy(target: string): Promise<CountingProxy> {
  let counts = new Map<string, number>();
  let lookups = new Map<string, Map<string, number>>();
  const relay = await startHttpRelay(target, (request, forward) => {
    const action = actionOf(request.method, request.url, request.headers, request.body);
    counts.set(action, (counts.get(action) ?? 0) + 1);
    const params = queryParameters(request.url, request.headers, request.body);
    if (params) {
      const kinds = lookups.get(action) ?? new Map<string, number>();
      const kind = lookupOf(params);
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      lookups.set(action, kinds);
    }
    return forward();
  });
  const sorted = (map: ReadonlyMap<string, number>) =>
    Object.fromEntries([...map].sort(([a], [b]) => a.localeCompare(b)));
  return {
    endpoint: relay.endpoint,
    counts: () => sorted(counts),
    total: () => [...counts.values()].reduce((sum, n) => sum + n, 0),
    lookups: (action) => sorted(lookups.get(action) ?? new Map()),
    reset: () => {
      counts = new Map();
      lookups = new Map();
    },
    stop: () => relay.stop(),
  };
}

/**
 * The AWS action a request calls, prefixed with its service as named in the SigV4 credential scope:
 * `ec2:DescribeVolumes` for the query protocol (`Action=` in the form body or the query string), `<service>:<target
 * operation>` for JSON protocols (`X-Amz-Target`), and `<service>:<METHOD> <path>` for REST protocols such as EFS,
 * with resource ids in the path replaced by `{id}` so calls on different resources count as one action.
 */
export function actionOf(method: string, url: string, headers: IncomingHttpHeaders, body: Buffer): string {
  const service = signedScope(headers)?.service ?? 'unsigned';
  const queryAction = queryParameters(url, headers, body)?.get('Action');
  if (queryAction) return `${service}:${queryAction}`;
  const target = headers['x-amz-target'];
  if (typeof target === 'string' && target !== '') return `${service}:${target.split('.').at(-1)}`;
  const { pathname } = new URL(url, 'http://proxy');
  return `${service}:${method} ${pathname.split('/').map(idToPlaceholder).join('/')}`;
}

/**
 * What a query-protocol call looks up: the names of its filters (`Filter.N.Name`) and of its id lists (`VolumeId.N`
 * as `VolumeId`), sorted and joined by `+`, such as `tag:stowage:name+tag:swarm-stack-id` or `volume-id`; `(all)`
 * when it has neither.
 */
export function lookupOf(params: URLSearchParams): string {
  const parts = new Set<string>();
  for (const [key, value] of params) {
    if (/^Filter\.\d+\.Name$/.test(key)) parts.add(value);
    else if (/^[A-Za-z]+Id\.\d+$/.test(key)) parts.add(key.replace(/\.\d+$/, ''));
  }
  return parts.size === 0 ? '(all)' : [...parts].sort().join('+');
}

/** `fs-0123abcd`, `fsap-…`, `fsmt-…`, `vol-…`, `snap-…`, `i-…`: AWS resource ids are `<prefix>-<hex>`. */
function idToPlaceholder(segment: string): string {
  return /^[a-z]+-[0-9a-f]{8,}$/.test(segment) ? '{id}' : segment;
}
