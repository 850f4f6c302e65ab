import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { startClientTokenProxy, type ClientTokenProxy } from './client-token-proxy.js';

/**
 * A running moto server: the AWS API stand-in that provider and end-to-end tests talk to over HTTP. By default its
 * {@link endpoint} is a {@link ClientTokenProxy} in front of moto, so that EC2 calls with a `ClientToken` behave as
 * on EC2 (moto ignores tokens): code that relies on, or must cope with, EC2's idempotency is tested against it.
 */
export interface MotoServer {
  /** `http://127.0.0.1:<port>`: give it to the SDK clients as `endpoint`, or as `AWS_ENDPOINT_URL`. */
  readonly endpoint: string;
  /** moto's own endpoint, behind the ClientToken stand-in (the same as {@link endpoint} when tokens are ignored). */
  readonly motoEndpoint: string;
  /** Settings for SDK clients and child processes: endpoint, region and fake credentials. */
  readonly env: Readonly<Record<string, string>>;
  /** Forgets every resource (volumes, snapshots, file systems) and every bound ClientToken, for isolation between tests. */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

export interface StartMotoOptions {
  readonly region?: string;
  /** The Python interpreter with `moto[server]` installed. */
  readonly python?: string;
  readonly startTimeoutMs?: number;
  /**
   * `honoured` (the default): EC2 calls go through a {@link ClientTokenProxy}, which answers a repeated `ClientToken`
   * as EC2 does. `ignored`: straight to moto, which makes a new resource for every call whatever its token.
   */
  readonly clientTokens?: 'honoured' | 'ignored';
}

/**
 * Starts `moto.server` on a free loopback port and waits until it answers. Needs `pip install 'moto[server]'`
 * (scripts/dev.sh setup installs it); the error says so when it is missing.
 */
export async function startMotoServer(options: StartMotoOptions = {}): Promise<MotoServer> {
  const region = options.region ?? 'us-east-1';
  const port = await freePort();
  const motoEndpoint = `http://127.0.0.1:${port}`;
  const child = spawn(options.python ?? 'python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  while (!(await answers(motoEndpoint))) {
    const code = await Promise.race([exited, delay(100).then(() => 'running' as const)]);
    if (code !== 'running') {
      throw new Error(
        `moto server exited (${String(code)}) before answering; is moto[server] installed? ${stderr.trim()}`,
      );
    }
    if (Date.now() > deadline) {
      await terminate(child, exited);
      throw new Error(`moto server did not answer on ${motoEndpoint} in time: ${stderr.trim()}`);
    }
  }

  let tokens: ClientTokenProxy | undefined;
  if ((options.clientTokens ?? 'honoured') === 'honoured') {
    try {
      tokens = await startClientTokenProxy(motoEndpoint);
    } catch (error) {
      await terminate(child, exited);
      throw error;
    }
  }
  const endpoint = tokens?.endpoint ?? motoEndpoint;

  return {
    endpoint,
    motoEndpoint,
    env: {
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      // moto accepts any credentials; these are visibly fake so a leak in a log is recognisable.
      AWS_ACCESS_KEY_ID: 'AKIAMOTOTESTING00000',
      AWS_SECRET_ACCESS_KEY: 'moto-testing-secret-key-not-real',
    },
    async reset() {
      const response = await fetch(`${motoEndpoint}/moto-api/reset`, { method: 'POST' });
      if (!response.ok) throw new Error(`moto reset failed: HTTP ${response.status}`);
      tokens?.forget();
    },
    async stop() {
      await tokens?.stop();
      await terminate(child, exited);
    },
  };
}

async function answers(endpoint: string): Promise<boolean> {
  try {
    const response = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1_000) });
    return response.ok;
  } catch {
    return false;
  }
}

async function terminate(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const stopped = await Promise.race([exited.then(() => true), delay(5_000).then(() => false)]);
  if (!stopped) {
    child.kill('SIGKILL');
    await exited;
  }
}

/**
 * A loopback port free at the time of the call: moto's, or, with nothing started on it, a port where connections are
 * refused at once (a stand-in for an AWS service that does not answer).
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
