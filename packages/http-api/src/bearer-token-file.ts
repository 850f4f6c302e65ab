import { readFile } from 'node:fs/promises';
import { StowageError } from '@stowage/core';

/**
 * Reads a bearer token from `file`: its content with surrounding white space (a trailing newline) trimmed. An empty
 * or unreadable file is refused (InvalidArgument), the message starting with `what` and naming the file, never its
 * content. The server's token file and a client's are read alike, so a file made for one serves the other.
 */
export async function readBearerTokenFile(file: string, what: string): Promise<string> {
  let content: string;
  try {
    content = await readFile(file, 'utf8');
  } catch (error) {
    throw StowageError.invalidArgument(
      `${what}: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
  const token = content.trim();
  if (token === '') throw StowageError.invalidArgument(`${what}: ${file} is empty; put the token in it`);
  return token;
}
