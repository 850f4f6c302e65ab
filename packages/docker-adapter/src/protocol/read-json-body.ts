import type { IncomingMessage } from 'node:http';
import getRawBody from 'raw-body';
import { ProtocolError } from './error-response.js';

/**
 * Reads a plugin request's body as JSON, any value (`null` included), up to `limit` bytes, whatever its Content-Type
 * says (the engine sends none; JSON is UTF-8). Resolves undefined for a request without a body (no Content-Length,
 * no Transfer-Encoding) and `{}` for an empty one, as body-parser did. Refuses a compressed body (415), a body over
 * the limit or shorter than its Content-Length (raw-body's errors, answered as body-parser's were) and malformed JSON
 * (400); the rest of a refused body is read off first, so the caller gets the answer instead of a reset connection.
 *
 * Not body-parser: raw-body is what reads the bytes there too, and the layers above it (content-type parsing, charset
 * decoding, debug, on-finished) took about 22 us of CPU per Get in a profile of 30,000 Gets (BENCHMARKS.md).
 */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const length = req.headers['content-length'];
  if (length === undefined && req.headers['transfer-encoding'] === undefined) return undefined;
  const encoding = req.headers['content-encoding']?.toLowerCase() ?? 'identity';
  if (encoding !== 'identity') {
    await drain(req);
    throw new ProtocolError(415, `content encoding "${encoding}" is not supported: send the body as plain JSON`);
  }
  let raw: Buffer;
  try {
    raw = await getRawBody(req, { length, limit });
  } catch (error) {
    await drain(req);
    throw error;
  }
  if (raw.length === 0) return {};
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (error) {
    throw new ProtocolError(400, `malformed JSON request body: ${(error as Error).message}`);
  }
}

/** Reads off what is left of a request body, so that an answer can follow it on the connection. */
function drain(req: IncomingMessage): Promise<void> {
  if (req.complete || req.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    req.once('end', resolve);
    req.once('close', resolve);
    req.resume();
  });
}
