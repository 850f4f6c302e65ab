import type { IncomingHttpHeaders } from 'node:http';

/** Where a SigV4-signed request is sent, as its credential scope names it (`Credential=<key>/<date>/<region>/<service>/aws4_request`). */
export interface SignedScope {
  readonly region: string;
  readonly service: string;
}

/** The region and service a request was signed for; undefined for an unsigned request (instance metadata, moto's own API). */
export function signedScope(headers: IncomingHttpHeaders): SignedScope | undefined {
  const match = /Credential=[^/]+\/[^/]+\/([^/]+)\/([^/]+)\//.exec(String(headers.authorization ?? ''));
  return match ? { region: match[1] as string, service: match[2] as string } : undefined;
}

/**
 * The parameters of a query-protocol call (EC2, and the other services that take `Action=`): the form body the SDK
 * posts, or the query string of a GET. Undefined when the request names no `Action` (a JSON or REST protocol call).
 */
export function queryParameters(url: string, headers: IncomingHttpHeaders, body: Buffer): URLSearchParams | undefined {
  const form = String(headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')
    ? new URLSearchParams(body.toString('utf8'))
    : undefined;
  if (form?.has('Action')) return form;
  const query = new URL(url, 'http://relay').searchParams;
  return query.has('Action') ? query : undefined;
}
