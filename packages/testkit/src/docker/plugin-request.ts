import { request } from 'node:http';

/** What the plugin answered: the HTTP status, the raw body and, when it is JSON, the parsed body. */
export interface PluginAnswer {
  readonly status: number;
  readonly text: string;
  readonly json: unknown;
}

/**
 * POSTs `body` as JSON to `/<method>` on the plugin's unix socket the way the Docker engine does: its Accept
 * header and no Content-Type. Rejects only when nothing answers (no socket, refused, timeout).
 */
// As long as the Docker engine waits for its longest volume calls (Create, Mount): a test that gives up sooner
// depends on how fast the machine is, not on what the plugin does.
const DOCKER_CALL_DEADLINE_MS = 120_000;

export function pluginRequest(
  socket: string,
  method: string,
  body: unknown = {},
  timeoutMs = DOCKER_CALL_DEADLINE_MS,
): Promise<PluginAnswer> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath: socket,
        method: 'POST',
        path: `/${method}`,
        headers: { Accept: 'application/vnd.docker.plugins.v1.2+json', 'Content-Length': Buffer.byteLength(payload) },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, text, json });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer to /${method} on ${socket} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}
