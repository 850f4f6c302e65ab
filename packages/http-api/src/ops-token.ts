import { createHash, timingSafeEqual } from 'node:crypto';
import { readBearerTokenFile } from './bearer-token-file.js';

/** A bearer token, compared in constant time; its value never leaves this object (not in logs, not in errors). */
export class OpsToken {
  private readonly digest: Buffer;

  constructor(token: string) {
    this.digest = sha256(token);
  }

  /**
   * Reads the token from `file`: its content with surrounding white space (a trailing newline) trimmed. An empty
   * or unreadable file is refused (InvalidArgument), naming the file, never its content.
   */
  static async fromFile(file: string): Promise<OpsToken> {
    return new OpsToken(await readBearerTokenFile(file, 'config: http.tokenFile'));
  }

  /** Whether an `Authorization` header value is `Bearer <this token>`. */
  admits(authorization: string | undefined): boolean {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? '');
    // Both sides hashed first: equal lengths for timingSafeEqual, and no timing leak of the token's length.
    return match !== null && timingSafeEqual(sha256(match[1] as string), this.digest);
  }
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
