import { randomUUID } from 'node:crypto';
import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import { startHttpRelay, type RelayedAnswer } from './http-relay.js';
import { queryParameters, signedScope } from './signed-request.js';

/**
 * A stand-in for EC2's idempotency, in front of a moto server (which ignores `ClientToken`).
 *
 * What EC2 does, and this proxy does too, for every EC2 call carrying a `ClientToken` (CreateVolume, RunInstances,
 * CopySnapshot...): the first successful call binds the token to its parameters and its answer, for hours, even after
 * the resource it made is deleted. A later call with the same token and the same parameters is answered with that
 * first answer again (the original resource id, creation time and state as they were then) and does nothing; with
 * other parameters it fails with `IdempotentParameterMismatch` and does nothing. A failed call binds nothing. As EC2
 * documents, the availability zone is not compared, and a token is bound per region and per action.
 *
 * Calls with the same token at the same time are answered one after the other, as EC2 answers them: the first one
 * is sent to moto, the others wait for its answer and are then replayed or refused.
 *
 * Every other request (other services, instance metadata, calls without a token, moto's own API) passes through
 * unchanged. A reset of moto through the proxy (`POST /moto-api/reset`) forgets the tokens too.
 */
export interface ClientTokenProxy {
  /** `http://127.0.0.1:<port>`: give it to the SDK clients instead of moto's endpoint. */
  readonly endpoint: string;
  /** How many tokens are bound now. */
  bound(): number;
  /** Forgets every bound token, as a fresh account would have none. */
  forget(): void;
  stop(): Promise<void>;
}

/** Parameters that do not count when a repeated token's parameters are compared. */
const NOT_COMPARED = new Set(['ClientToken', 'Version', 'AvailabilityZone']);

interface Binding {
  /** The call's parameters, but for {@link NOT_COMPARED}, in a canonical order. */
  readonly parameters: string;
  readonly answer: RelayedAnswer;
}

const parser = new XMLParser({ ignoreDeclaration: true, ignoreAttributes: true, parseTagValue: false });
const builder = new XMLBuilder({});

/** Starts the stand-in in front of `target` (a moto server's endpoint) on a free loopback port. */
export async function startClientTokenProxy(target: string): Promise<ClientTokenProxy> {
  const bindings = new Map<string, Binding>();
  /** Calls whose token is not bound yet, by binding key: later calls with that token wait for them. */
  const pending = new Map<string, Promise<unknown>>();

  const relay = await startHttpRelay(target, async (request, forward) => {
    if (request.method === 'POST' && new URL(request.url, 'http://relay').pathname === '/moto-api/reset') {
      bindings.clear();
      return forward();
    }
    const scope = signedScope(request.headers);
    const parameters =
      scope?.service === 'ec2' ? queryParameters(request.url, request.headers, request.body) : undefined;
    const token = parameters?.get('ClientToken');
    if (!scope || !parameters || !token) return forward();
    const action = parameters.get('Action') as string;
    const key = JSON.stringify([scope.region, action, token]);
    const compared = canonical(parameters);

    for (;;) {
      const bound = bindings.get(key);
      if (bound) return bound.parameters === compared ? replay(bound.answer) : mismatch(token);
      const earlier = pending.get(key);
      if (earlier === undefined) break;
      await earlier.catch(() => undefined);
    }
    const call = forward();
    pending.set(key, call);
    try {
      const answer = await call;
      if (answer.status === 200 && isAnswerTo(action, answer.body)) bindings.set(key, { parameters: compared, answer });
      return answer;
    } finally {
      pending.delete(key);
    }
  });

  return {
    endpoint: relay.endpoint,
    bound: () => bindings.size,
    forget: () => bindings.clear(),
    stop: () => relay.stop(),
  };
}

function canonical(parameters: URLSearchParams): string {
  const kept = [...parameters].filter(([name]) => !NOT_COMPARED.has(name));
  kept.sort(([a, x], [b, y]) => a.localeCompare(b) || x.localeCompare(y));
  return JSON.stringify(kept);
}

/** Whether `body` is the XML answer to `action` (`<CreateVolumeResponse>` to CreateVolume): only such an answer binds a token. */
function isAnswerTo(action: string, body: Buffer): boolean {
  try {
    const document = parser.parse(body.toString('utf8')) as Record<string, unknown>;
    return Object.keys(document).length === 1 && Object.hasOwn(document, `${action}Response`);
  } catch {
    return false;
  }
}

/** The first answer again, under a request id of its own as each EC2 answer has. */
function replay(answer: RelayedAnswer): RelayedAnswer {
  const requestId = randomUUID();
  const body = Buffer.from(
    answer.body.toString('utf8').replace(/<requestId>[^<]*<\/requestId>/, `<requestId>${requestId}</requestId>`),
    'utf8',
  );
  return { status: 200, headers: ['content-type', 'text/xml;charset=UTF-8', 'x-amzn-requestid', requestId], body };
}

/** EC2's answer to a token repeated with other parameters: its error document, as the SDK parses EC2 errors. */
function mismatch(token: string): RelayedAnswer {
  const requestId = randomUUID();
  const xml = builder.build({
    Response: {
      Errors: {
        Error: {
          Code: 'IdempotentParameterMismatch',
          Message: `Parameters on this idempotent request are inconsistent with parameters used in previous request(s) (client token ${token})`,
        },
      },
      RequestID: requestId,
    },
  }) as string;
  const body = Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n${xml}`, 'utf8');
  return { status: 400, headers: ['content-type', 'text/xml;charset=UTF-8', 'x-amzn-requestid', requestId], body };
}
