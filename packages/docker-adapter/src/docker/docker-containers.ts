import { request } from 'node:http';
import { StowageError } from '@stowage/core';

/** A container as the Docker engine lists it, reduced to what hold reconciliation needs. */
export interface DockerContainer {
  readonly id: string;
  /** `created`, `running`, `paused`, `restarting`, `removing`, `exited` or `dead`. */
  readonly state: string;
  /** The names of the named volumes it mounts. */
  readonly volumes: readonly string[];
}

/** Container states in which the Docker engine has the container's volumes mounted (or may, `restarting`). */
const HOLDING_STATES: ReadonlySet<string> = new Set(['running', 'paused', 'restarting']);

/** The volumes some container that may hold its mounts (running, paused, restarting) has. */
export function volumesInUse(containers: readonly DockerContainer[]): Set<string> {
  return new Set(containers.filter((c) => HOLDING_STATES.has(c.state)).flatMap((c) => c.volumes));
}

/**
 * Whether a Mount of `name` that the previous plugin process counted but may not have answered, now arriving
 * again, is the Docker engine resending it: only if no container that runs has the volume. A container waiting for
 * that Mount does not run yet; one that runs got its answer, and this Mount is a new one (a `docker cp` into it).
 * Unknown (the engine cannot be asked) counts as no: the Mount is counted again, which holds the volume longer at
 * worst, where not counting it could release the volume under the running container.
 */
export async function dockerConfirmsResend(docker: DockerContainers, name: string): Promise<boolean> {
  return !volumesInUse(await docker.list()).has(name);
}

/** What the Docker engine says runs on this node. */
export interface DockerContainers {
  /** Every container the engine knows, whatever its state (`GET /containers/json?all=1`). */
  list(): Promise<DockerContainer[]>;
}

/** Bound on one call: the engine answers a container list in milliseconds, or is stuck. */
const REQUEST_TIMEOUT_MS = 15_000;
/** Bound on an answer's size: a container list is about 2 KiB a container. */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

/**
 * The Docker engine's API on its unix socket (`/var/run/docker.sock`), for the one question the plugin asks: which
 * containers exist, in which state, mounting which volumes. Read-only: nothing here changes the engine.
 */
export class DockerEngineApi implements DockerContainers {
  constructor(
    /** The engine's API socket. */
    readonly socket: string,
  ) {}

  async list(): Promise<DockerContainer[]> {
    const body = await this.get('/containers/json?all=1');
    if (!Array.isArray(body))
      throw StowageError.backendFailure(`the Docker engine at ${this.socket} answered the container list with no list`);
    return body.map(toContainer);
  }

  private get(path: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const fail = (error: unknown) =>
        reject(StowageError.wrap(error, `cannot ask the Docker engine at ${this.socket} (GET ${path})`));
      const call = request(
        {
          socketPath: this.socket,
          path,
          method: 'GET',
          timeout: REQUEST_TIMEOUT_MS,
          headers: { Accept: 'application/json' },
        },
        (answer) => {
          const chunks: Buffer[] = [];
          let size = 0;
          answer.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_ANSWER_BYTES) answer.destroy(new Error(`answer larger than ${MAX_ANSWER_BYTES} bytes`));
            else chunks.push(chunk);
          });
          answer.on('error', fail);
          answer.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            if (answer.statusCode !== 200) {
              fail(new Error(`HTTP ${answer.statusCode ?? '?'}: ${text.slice(0, 200)}`));
              return;
            }
            try {
              resolve(JSON.parse(text));
            } catch (error) {
              fail(error);
            }
          });
        },
      );
      call.on('timeout', () => call.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS / 1000} s`)));
      call.on('error', fail);
      call.end();
    });
  }
}

function toContainer(item: unknown): DockerContainer {
  const { Id, State, Mounts } = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
  const volumes = Array.isArray(Mounts)
    ? Mounts.flatMap((mount: unknown) => {
        const { Type, Name } = (typeof mount === 'object' && mount !== null ? mount : {}) as Record<string, unknown>;
        return Type === 'volume' && typeof Name === 'string' ? [Name] : [];
      })
    : [];
  // An unknown or missing state counts as running: when in doubt, a container keeps its volumes' holds.
  return { id: typeof Id === 'string' ? Id : '', state: typeof State === 'string' ? State : 'running', volumes };
}
