import { request } from 'node:http';

/** What came back from the plugin, body undecoded and decoded. */
export interface RawAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  /** The body as JSON; throws in the test when it is not JSON (every answer must be). */
  json<T = Record<string, unknown>>(): T;
}

/**
 * Sends one request to a unix socket the way the Docker engine does: POST, no Content-Type. `body` is sent as is
 * (a string, so tests can send malformed JSON); undefined sends no body at all.
 */
export function rawPost(
  socket: string,
  path: string,
  body?: string | Buffer,
  options: { method?: string; headers?: Record<string, string> } = {},
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath: socket,
        method: options.method ?? 'POST',
        path,
        headers: {
          Accept: 'application/vnd.docker.plugins.v1.2+json',
          ...(body !== undefined ? { 'Content-Length': String(Buffer.byteLength(body)) } : {}),
          ...options.headers,
        },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text,
            json: <T>() => JSON.parse(text) as T,
          });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** A POST of `value` as JSON (`null` included), the way the engine encodes its requests. */
export function postJson(socket: string, path: string, value: unknown): Promise<RawAnswer> {
  return rawPost(socket, path, JSON.stringify(value));
}
