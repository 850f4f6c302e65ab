import { request as forward, Agent, createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An HTTP proxy in front of a moto server that counts the AWS API calls passing through it, by action.
 *
 * Why a proxy and not moto's own request recorder (`/moto-api/recorder`): the recorder is one switch for the whole
 * server, so it records every client at once, test harness included (the fake udev polls DescribeVolumes every
 * 50 ms), and it writes every request to a file. A proxy counts only the clients pointed at it, so a test or
 * benchmark measures the code under test alone, and several counters can share one moto server.
 *
 * Requests and answers pass through unmodified: the body is read whole (to find the action) and then sent on with
 * the same method, path and headers; status, headers and body of moto's answer come back as they are.
 */
export interface CountingProxy {
  /** `http://127.0.0.1:<port>`: give it to the SDK clients under test instead of moto's endpoint. */
  readonly endpoint: string;
  /** Calls seen since the start or the last {@link reset}, by action (see {@link actionOf}), sorted by action. */
  counts(): Record<string, number>;
  /** All calls seen since the start or the last {@link reset}. */
  total(): number;
  reset(): void;
  stop(): Promise<void>;
}

/** Starts a counting proxy to `target` (a moto server's endpoint) on a free loopback port. */
export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const upstream = new URL(target);
  // Keep-alive both ways, as the SDK does, so the proxy adds little to what it measures.
  const agent = new Agent({ keepAlive: true });
  let counts = new Map<string, number>();

  const server = createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('error', (error) => fail(outgoing, error));
    incoming.on('end', () => {
      const body = Buffer.concat(chunks);
      const action = actionOf(incoming.method ?? 'GET', incoming.url ?? '/', incoming.headers, body);
      counts.set(action, (counts.get(action) ?? 0) + 1);
      relay(incoming, body, outgoing);
    });
  });

  function relay(incoming: IncomingMessage, body: Buffer, outgoing: ServerResponse): void {
    const call = forward(
      { agent, host: upstream.hostname, port: upstream.port, method: incoming.method, path: incoming.url, headers: incoming.headers },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
        answer.pipe(outgoing);
        answer.on('error', (error) => outgoing.destroy(error));
      },
    );
    call.on('error', (error) => fail(outgoing, error));
    call.end(body);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    counts: () => Object.fromEntries([...counts].sort(([a], [b]) => a.localeCompare(b))),
    total: () => [...counts.values()].reduce((sum, n) => sum + n, 0),
    reset: () => {
      counts = new Map();
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}

/** The proxy never invents an AWS answer: a failure to reach moto is a bare 502 the SDK reports as such. */
function fail(outgoing: ServerResponse, error: Error): void {
  if (outgoing.headersSent) {
    outgoing.destroy(error);
    return;
  }
  outgoing.writeHead(502, { 'content-type': 'text/plain' });
  outgoing.end(`counting proxy: moto did not answer: ${error.message}`);
}

/**
 * The AWS action a request calls, prefixed with its service as named in the SigV4 credential scope:
 * `ec2:DescribeVolumes` for the query protocol (`Action=` in the form body or the query string), `<service>:<target
 * operation>` for JSON protocols (`X-Amz-Target`), and `<service>:<METHOD> <path>` for REST protocols such as EFS,
 * with resource ids in the path replaced by `{id}` so calls on different resources count as one action.
 */
export function actionOf(method: string, url: string, headers: IncomingHttpHeaders, body: Buffer): string {
  const service = /Credential=[^/]+\/[^/]+\/[^/]+\/([^/]+)\//.exec(String(headers.authorization ?? ''))?.[1] ?? 'unsigned';
  const { pathname, searchParams } = new URL(url, 'http://proxy');
  const formAction = String(headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')
    ? new URLSearchParams(body.toString('utf8')).get('Action')
    : null;
  const queryAction = formAction ?? searchParams.get('Action');
  if (queryAction) return `${service}:${queryAction}`;
  const target = headers['x-amz-target'];
  if (typeof target === 'string' && target !== '') return `${service}:${target.split('.').at(-1)}`;
  return `${service}:${method} ${pathname.split('/').map(idToPlaceholder).join('/')}`;
}

/** `fs-0123abcd`, `fsap-…`, `fsmt-…`, `vol-…`, `snap-…`, `i-…`: AWS resource ids are `<prefix>-<hex>`. */
function idToPlaceholder(segment: string): string {
  return /^[a-z]+-[0-9a-f]{8,}$/.test(segment) ? '{id}' : segment;
}
