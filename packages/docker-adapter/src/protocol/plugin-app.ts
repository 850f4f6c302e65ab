import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Logger, VolumeEngine } from '@stowage/core';
import { describeRequestIssues } from '@stowage/http-api';
import type { z } from 'zod';
import { type DockerCapabilities, type DockerVolume, toDockerVolume, volumeNotFoundMessage } from './docker-volume.js';
import type { ResentMounts } from '../docker/resent-mounts.js';
import { type ErrBody, ProtocolError, toErrorResponse } from './error-response.js';
import { readJsonBody } from './read-json-body.js';
import { createRequestSchema, emptyRequestSchema, mountRequestSchema, nameRequestSchema } from './request-schemas.js';

/** What the plugin app needs of the engine; a {@link VolumeEngine} is one. */
export type PluginEngine = Pick<
  VolumeEngine,
  'create' | 'remove' | 'get' | 'list' | 'mount' | 'unmount' | 'path' | 'scope' | 'confirmMount' | 'withdrawMount'
>;

/** Options of {@link createPluginApp}. */
export interface PluginAppOptions {
  /**
   * Told of each `Plugin.Activate`: a legacy plugin is activated once per Docker engine lifetime, so the engine may
   * have restarted, and holds of containers that died with it can be checked against its view.
   */
  readonly onActivate?: () => void;
  /**
   * The Mounts the plugin counted before a restart and never answered, which the Docker engine may send again (see
   * {@link ResentMounts}). Without it, every Mount counts as a new one.
   */
  readonly resentMounts?: ResentMounts;
  /**
   * Told of every answer once it is handed to the connection (the ops server's metrics). Called on the socket's
   * path for every request: keep it to a few increments.
   */
  readonly observe?: PluginRequestObserver;
}

/**
 * What became of one plugin request: `ok`, a domain error answered in `Err` with 200 (`error`: Docker shows it), a
 * request refused by the protocol with 4xx (`refused`), or an unexpected failure answered 500 (`failed`).
 */
export type PluginRequestOutcome = 'ok' | 'error' | 'refused' | 'failed';

/**
 * Told of one answered plugin request: its path as sent (`/VolumeDriver.Mount`, or whatever unknown path a caller
 * tried: bound it before using it as a label), what became of it and how long it took, in seconds.
 */
export type PluginRequestObserver = (path: string, outcome: PluginRequestOutcome, seconds: number) => void;

/** Request bodies above this are refused with 413; the largest real one (Create with options) is a few hundred bytes. */
export const MAX_REQUEST_BODY_BYTES = 64 * 1024;

// What docker's own plugin helpers answer with; the engine decodes any JSON, whatever the type says.
const PLUGIN_CONTENT_TYPE = 'application/vnd.docker.plugins.v1.2+json; charset=utf-8';

/** What an endpoint whose success must reach the caller is told of its answer's fate. */
interface Delivery<R> {
  /** The successful answer was handed to the connection. */
  readonly answered: (request: R) => Promise<void>;
  /** The successful answer could not be delivered: the caller gave up or went away first. */
  readonly undelivered: (request: R) => Promise<void>;
}

interface Endpoint {
  readonly schema: z.ZodType;
  readonly handle: (request: never) => Promise<object>;
  readonly delivery?: Delivery<never>;
}

function endpoint<S extends z.ZodType>(
  schema: S,
  handle: (request: z.infer<S>) => Promise<object>,
  delivery?: Delivery<z.infer<S>>,
): Endpoint {
  return {
    schema,
    handle: handle as Endpoint['handle'],
    ...(delivery ? { delivery: delivery as Delivery<never> } : {}),
  };
}

const ok: ErrBody = { Err: '' };

function endpoints(engine: PluginEngine, options: PluginAppOptions): ReadonlyMap<string, Endpoint> {
  return new Map<string, Endpoint>([
    [
      '/Plugin.Activate',
      endpoint(emptyRequestSchema, async () => {
        options.onActivate?.();
        return { Implements: ['VolumeDriver'] };
      }),
    ],
    [
      '/VolumeDriver.Create',
      endpoint(createRequestSchema, async ({ Name, Opts }) => {
        await engine.create(Name, Opts ?? {});
        return ok;
      }),
    ],
    [
      '/VolumeDriver.Remove',
      endpoint(nameRequestSchema, async ({ Name }) => {
        await engine.remove(Name);
        return ok;
      }),
    ],
    [
      '/VolumeDriver.Mount',
      endpoint(
        mountRequestSchema,
        async ({ Name, ID }) => {
          const { resentMounts } = options;
          const mountOptions = resentMounts
            ? { provisional: true, isRetry: resentMounts.isRetry(Name, ID) }
            : { provisional: true };
          return { Mountpoint: await engine.mount(Name, ID, mountOptions), Err: '' };
        },
        // Docker sends no Unmount after a Mount that failed on its side, so a Mount whose answer never reached it
        // (its deadline passed, the connection dropped) is taken back; until the answer leaves, it is provisional.
        {
          answered: ({ Name, ID }) => engine.confirmMount(Name, ID),
          undelivered: ({ Name, ID }) => engine.withdrawMount(Name, ID),
        },
      ),
    ],
    [
      '/VolumeDriver.Unmount',
      endpoint(mountRequestSchema, async ({ Name, ID }) => {
        options.resentMounts?.forget(Name, [ID]);
        await engine.unmount(Name, ID);
        return ok;
      }),
    ],
    [
      '/VolumeDriver.Path',
      endpoint(nameRequestSchema, async ({ Name }) => ({ Mountpoint: (await engine.path(Name)) ?? '', Err: '' })),
    ],
    [
      // Docker forgets a volume (labels, options) whenever Get answers Err. The engine returns undefined only when
      // every backing said the volume does not exist, and answers from what it knows when a backend cannot be asked;
      // what it still throws (an invalid name, an unknown volume nobody can vouch for) has no better answer than Err.
      '/VolumeDriver.Get',
      endpoint(nameRequestSchema, async ({ Name }) => {
        const volume = await engine.get(Name);
        if (!volume) return { Err: volumeNotFoundMessage(Name) };
        return { Volume: toDockerVolume(volume, true), Err: '' };
      }),
    ],
    [
      '/VolumeDriver.List',
      endpoint(emptyRequestSchema, async () => {
        const volumes: DockerVolume[] = (await engine.list()).map((v) => toDockerVolume(v, false));
        return { Volumes: volumes, Err: '' };
      }),
    ],
    [
      '/VolumeDriver.Capabilities',
      endpoint(emptyRequestSchema, async () => {
        const capabilities: DockerCapabilities = { Scope: engine.scope() };
        return { Capabilities: capabilities };
      }),
    ],
  ]);
}

/** `VolumeDriver.Mount` for `/VolumeDriver.Mount`; unknown paths are cut short, they come from the caller. */
function methodOf(path: string): string {
  return path.slice(1, 100);
}

/** The volume name a request is about, for logs; bodies are untrusted, so only a string counts. */
function volumeOf(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const name = (body as { Name?: unknown }).Name;
  return typeof name === 'string' ? name.slice(0, 256) : undefined;
}

/** The path of a request target without its query: `/VolumeDriver.Get` (absolute-form targets too). */
function pathOf(url: string | undefined): string {
  if (url === undefined || url === '') return '/';
  if (url.startsWith('/')) {
    const end = url.search(/[?#]/);
    return end === -1 ? url : url.slice(0, end);
  }
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
}

function outcomeOf(status: number, body: object): PluginRequestOutcome {
  if (status >= 500) return 'failed';
  if (status >= 400) return 'refused';
  const err = (body as { Err?: unknown }).Err;
  return err === undefined || err === '' ? 'ok' : 'error';
}

/** A request with its body, once read. */
type ParsedRequest = IncomingMessage & { body?: unknown };

/**
 * The Docker volume plugin protocol (`/Plugin.Activate` and `/VolumeDriver.*`) as a node:http request listener over
 * `engine`.
 *
 * Bodies are parsed as JSON whatever their Content-Type (the engine sends none), `null` included, up to
 * {@link MAX_REQUEST_BODY_BYTES}. Every answer carries a JSON body. Domain errors answer 200 with `{ "Err": message }`
 * so Docker prints the message as is; protocol errors answer 400, 404, 405 or 413 with `Err`; an unexpected
 * exception answers 500 with `Err` and is logged, and never stops the process.
 *
 * No web framework: the protocol is one POST per fixed path, and express halved the plugin's throughput (Get at 8
 * connections: 11,000 answers a second under express, 22,000 without) while its per-request objects outlived
 * young-generation collections, so the heap grew by tens of MiB under load and Get's p99 was GC pauses (bench/,
 * BENCHMARKS.md). raw-body, which body-parser is built on, reads the bodies (see {@link readJsonBody}).
 */
export function createPluginApp(engine: PluginEngine, logger: Logger, options: PluginAppOptions = {}): RequestListener {
  const routes = endpoints(engine, options);

  return (req: ParsedRequest, res: ServerResponse) => {
    const started = process.hrtime.bigint();
    const path = pathOf(req.url);

    const send = (status: number, body: object, headers: Readonly<Record<string, string>> = {}): void => {
      // The caller went away: there is nobody to answer (and writing to a destroyed response only raises errors).
      if (res.destroyed) return;
      // Encoded once: measuring the string and then writing it would encode a List of 10,000 volumes (1 MB) twice.
      const data = Buffer.from(JSON.stringify(body), 'utf8');
      res.writeHead(status, { ...headers, 'Content-Type': PLUGIN_CONTENT_TYPE, 'Content-Length': data.length });
      res.end(data);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      options.observe?.(path, outcomeOf(status, body), ms / 1000);
      logger.debug(
        { method: methodOf(path), volume: volumeOf(req.body), status, ms: Math.round(ms * 10) / 10 },
        'plugin request',
      );
    };

    const fail = (error: unknown): void => {
      const response = toErrorResponse(error);
      const fields = {
        method: methodOf(path),
        volume: volumeOf(req.body),
        status: response.status,
        err: response.body.Err,
      };
      if (response.level === 'error')
        logger.error({ ...fields, stack: (error as Error)?.stack }, 'plugin request failed');
      else logger.warn(fields, 'plugin request refused');
      if (res.headersSent) {
        // Half an answer is out: only closing the connection tells the caller it is not whole.
        res.destroy();
        return;
      }
      send(response.status, response.body, response.headers);
    };

    /** Tells `delivery` whether the answer about to be sent reaches the caller's connection. */
    const followDelivery = (delivery: Delivery<never>, request: never): void => {
      const report = (outcome: 'answered' | 'undelivered') => {
        delivery[outcome](request).catch((error: unknown) =>
          logger.warn(
            { method: methodOf(path), volume: volumeOf(req.body), err: (error as Error).message },
            `could not record an ${outcome} request`,
          ),
        );
      };
      // The caller may have gone while the work was under way: its connection is closed already.
      if (res.destroyed || req.socket.destroyed) {
        logger.warn(
          { method: methodOf(path), volume: volumeOf(req.body) },
          'the caller went away before its answer was ready',
        );
        report('undelivered');
        return;
      }
      let settled = false;
      res.once('finish', () => {
        settled = true;
        report('answered');
      });
      res.once('close', () => {
        if (settled || res.writableFinished) return;
        settled = true;
        report('undelivered');
      });
    };

    // An exception escaping a request listener would stop the process: every step answers through `fail` instead.
    const answer = (body: unknown): void => {
      const route = routes.get(path) as Endpoint;
      // No body at all (no Content-Length) leaves req.body undefined: the same as the `null` the engine usually sends.
      const parsed = route.schema.safeParse(body ?? null);
      if (!parsed.success) throw new ProtocolError(400, describeRequestIssues(parsed.error));
      route
        .handle(parsed.data as never)
        .then((result) => {
          if (route.delivery) followDelivery(route.delivery, parsed.data as never);
          send(200, result);
        })
        .catch(fail)
        .catch(() => res.destroy());
    };

    try {
      // Resolved before the body is read, so an unknown endpoint or a GET costs no parsing.
      if (!routes.has(path))
        throw new ProtocolError(404, `unknown endpoint ${path}; this plugin implements VolumeDriver`);
      if (req.method !== 'POST') {
        throw new ProtocolError(405, `${req.method} is not allowed on ${path}; the plugin protocol uses POST`, {
          Allow: 'POST',
        });
      }
      readJsonBody(req, MAX_REQUEST_BODY_BYTES)
        .then((body) => {
          req.body = body;
          answer(body);
        })
        .catch(fail)
        .catch(() => res.destroy());
    } catch (failure) {
      fail(failure);
    }
  };
}
