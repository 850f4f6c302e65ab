import { fileURLToPath } from 'node:url';

const dir = (name: string) => fileURLToPath(new URL(`../../fixtures/tls/${name}`, import.meta.url));

/**
 * Test-only TLS material (see fixtures/tls/README.md): a self-signed certificate for localhost, 127.0.0.1 and ::1
 * valid until 2126, its key, and a key that belongs to no certificate. They secure nothing.
 */
export const TLS_FIXTURES = {
  cert: dir('localhost-cert.pem'),
  key: dir('localhost-key.pem'),
  otherKey: dir('other-key.pem'),
} as const;
