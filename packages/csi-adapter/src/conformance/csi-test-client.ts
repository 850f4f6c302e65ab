import { credentials, type CallOptions, type Client, type ServiceError, status } from '@grpc/grpc-js';
import { setTimeout as sleep } from 'node:timers/promises';
import { csiProto } from '../csi-proto.js';

type Callback<Res> = (error: ServiceError | null, answer?: Res) => void;

/** The answer of one call: the response, or the gRPC error (its `code` a `status`). */
export interface CsiCallResult<Res> {
  readonly answer?: Res;
  readonly error?: ServiceError;
}

/** A CSI client on a unix socket for tests, as a CO dials the plugin: each call a promise of answer or error. */
export class CsiTestClient {
  private readonly clients: Record<'identity' | 'controller' | 'node', Client>;

  /** @param endpoint `unix:///path/to/csi.sock` */
  constructor(endpoint: string) {
    const v1 = csiProto().csi.v1;
    this.clients = {
      identity: new v1.Identity(endpoint, credentials.createInsecure()),
      controller: new v1.Controller(endpoint, credentials.createInsecure()),
      node: new v1.Node(endpoint, credentials.createInsecure()),
    };
  }

  /**
   * Calls `service.method` (`controller`, `CreateVolume`) with a request as csi.proto spells it (snake_case); with
   * `timeoutMs`, under a deadline that far ahead, as a CO sets one (Swarm: 15 s).
   */
  call<Res = Record<string, unknown>>(
    service: 'identity' | 'controller' | 'node',
    method: string,
    request: object,
    timeoutMs?: number,
  ): Promise<CsiCallResult<Res>> {
    const client = this.clients[service] as unknown as Record<
      string,
      (r: object, options: CallOptions, cb: Callback<Res>) => void
    >;
    const fn = client[method];
    if (!fn) throw new Error(`no CSI method ${service}.${method}`);
    const options: CallOptions = timeoutMs === undefined ? {} : { deadline: new Date(Date.now() + timeoutMs) };
    return new Promise((resolve) =>
      fn.call(client, request, options, (error, answer) => resolve(error ? { error } : { answer })),
    );
  }

  /**
   * Calls as a CO does: under its deadline (Swarm's 15 s by default), and again, after a pause, while the answer is
   * ABORTED, the spec's "an operation on this volume is still under way" (at most `attempts` calls). So a test
   * asserts the outcome a CO ends with, whatever the machine's speed.
   */
  async callAsCo<Res = Record<string, unknown>>(
    service: 'identity' | 'controller' | 'node',
    method: string,
    request: object,
    { timeoutMs = 15_000, attempts = 40 }: { timeoutMs?: number; attempts?: number } = {},
  ): Promise<CsiCallResult<Res>> {
    let result = await this.call<Res>(service, method, request, timeoutMs);
    for (let call = 1; call < attempts && result.error?.code === status.ABORTED; call++) {
      await sleep(500);
      result = await this.call<Res>(service, method, request, timeoutMs);
    }
    return result;
  }

  close(): void {
    for (const client of Object.values(this.clients)) client.close();
  }
}
