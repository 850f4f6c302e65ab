import { request as forward, Agent, createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request as a relay received it, body read whole. */
export interface RelayedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** An answer, from upstream or made by the relay's handler, body read whole. */
export interface RelayedAnswer {
  readonly status: number;
  /** Header names and values in turn, as Node's `rawHeaders` holds them. */
  readonly headers: readonly string[];
  readonly body: Buffer;
}

/**
 * Decides the answer to one request: `forward()` sends it on upstream unchanged (same method, path, headers and
 * body) and resolves with upstream's answer; the handler may answer without forwarding, or forward and answer
 * something else.
 */
export type RelayHandler = (request: RelayedRequest, forward: () => Promise<RelayedAnswer>) => Promise<RelayedAnswer>;

/** A running relay: `endpoint` is `http://127.0.0.1:<port>`. */
export interface HttpRelay {
  readonly endpoint: string;
  stop(): Promise<void>;
}

/**
 * An HTTP server on a free loopback port in front of `target` (a moto server's endpoint), for the test stand-ins that
 * watch or change AWS calls on their way. Bodies are read whole both ways: AWS API answers are small, and a handler
 * needs the whole body to read an action or replay an answer.
 */
export async function startHttpRelay(target: string, handle: RelayHandler): Promise<HttpRelay> {
  const upstream = new URL(target);
  // Keep-alive both ways, as the SDK does, so the relay adds little to what passes through it.
  const agent = new Agent({ keepAlive: true });

  const send = (request: RelayedRequest): Promise<RelayedAnswer> =>
    new Promise((resolve, reject) => {
      const call = forward(
        {
          agent,
          host: upstream.hostname,
          port: upstream.port,
          method: request.method,
          path: request.url,
          headers: request.headers,
        },
        (answer) => {
          const chunks: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => chunks.push(chunk));
          answer.on('error', reject);
          answer.on('end', () =>
            resolve({ status: answer.statusCode ?? 502, headers: answer.rawHeaders, body: Buffer.concat(chunks) }),
          );
        },
      );
      call.on('error', reject);
      call.end(request.body);
    });

  const server = createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('error', (error) => fail(outgoing, error));
    incoming.on('end', () => {
      const request: RelayedRequest = {
        method: incoming.method ?? 'GET',
        url: incoming.url ?? '/',
        headers: incoming.headers,
        body: Buffer.concat(chunks),
      };
      handle(request, () => send(request)).then(
        (answer) => {
          outgoing.writeHead(answer.status, withLength(answer.headers, answer.body.length));
          outgoing.end(answer.body);
        },
        (error: unknown) => fail(outgoing, error as Error),
      );
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}

/**
 * The headers with `content-length` set to the body's and `transfer-encoding` dropped: the body goes out whole,
 * whatever framing upstream used, and a handler's own answer may differ in length from the one it replaces.
 */
function withLength(raw: readonly string[], length: number): string[] {
  const kept: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    if (name === 'content-length' || name === 'transfer-encoding') continue;
    kept.push(raw[i] as string, raw[i + 1] as string);
  }
  kept.push('content-length', String(length));
  return kept;
}

/** The relay never invents an AWS answer: a failure to reach upstream is a bare 502 the SDK reports as such. */
function fail(outgoing: ServerResponse, error: Error): void {
  if (outgoing.headersSent) {
    outgoing.destroy(error);
    return;
  }
  outgoing.writeHead(502, { 'content-type': 'text/plain' });
  outgoing.end(`relay in front of moto: moto did not answer: ${error.message}`);
}
