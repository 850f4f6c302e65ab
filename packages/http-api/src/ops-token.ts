import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { StowageError } from '@stowage/core';

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
    let content: string;
    try {
      content = await readFile(file, 'utf8');
    } catch (error) {
      throw StowageError.invalidArgument(
        `config: http.tokenFile: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      );
    }
    const token = content.trim();
    if (token === '')
      throw StowageError.invalidArgument(`config: http.tokenFile: ${file} is empty; put the token in it`);
    return new OpsToken(token);
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
