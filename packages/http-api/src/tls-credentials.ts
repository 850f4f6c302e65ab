import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import { StowageError } from '@stowage/core';

/** A certificate chain and its private key, PEM, read and checked to belong together. */
export interface TlsCredentials {
  readonly cert: Buffer;
  readonly key: Buffer;
}

/**
 * Reads the ops server's certificate and key once, at start-up, and refuses (InvalidArgument) an unreadable file, a
 * file that is not PEM, and a key that does not match the certificate: a server that starts and then fails every
 * handshake would look healthy to the service manager. Errors name the files, never their content.
 */
export async function readTlsCredentials(certFile: string, keyFile: string): Promise<TlsCredentials> {
  const [cert, key] = await Promise.all([readPem(certFile, 'certFile'), readPem(keyFile, 'keyFile')]);
  try {
    createSecureContext({ cert, key });
  } catch (error) {
    // OpenSSL's reason ("key values mismatch", "no start line") says which check failed, not what the files hold.
    const reason = (error as Error).message.split('\n')[0];
    throw StowageError.invalidArgument(
      `config: http: the certificate ${certFile} and the key ${keyFile} cannot serve TLS: ${reason}`,
    );
  }
  return { cert, key };
}

async function readPem(file: string, key: 'certFile' | 'keyFile'): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    throw StowageError.invalidArgument(
      `config: http.${key}: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
}
