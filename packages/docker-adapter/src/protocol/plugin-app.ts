import type { Logger, VolumeEngine } from '@stowage/core';
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import type { z } from 'zod';
import { type DockerCapabilities, type DockerVolume, toDockerVolume, volumeNotFoundMessage } from './docker-volume.js';
import { type ErrBody, ProtocolError, toErrorResponse } from './error-response.js';
import {
  createRequestSchema,
  describeRequestIssues,
  emptyRequestSchema,
  mountRequestSchema,
  nameRequestSchema,
} from './request-schemas.js';

/** What the plugin app needs of the engine; a {@link VolumeEngine} is one. */
export type PluginEngine = Pick<VolumeEngine, 'create' | 'remove' | 'get' | 'list' | 'mount' | 'unmount' | 'path' | 'scope'>;

/** Request bodies above this are refused with 413; the largest real one (Create with options) is a few hundred bytes. */
export const MAX_REQUEST_BODY_BYTES = 64 * 1024;

// What docker's own plugin helpers answer with; the engine decodes any JSON, whatever the type says.
const PLUGIN_CONTENT_TYPE = 'application/vnd.docker.plugins.v1.2+json';

interface Endpoint {
  readonly schema: z.ZodType;
  readonly handle: (request: never) => Promise<object>;
}

function endpoint<S extends z.ZodType>(schema: S, handle: (request: z.infer<S>) => Promise<object>): Endpoint {
  return { schema, handle: handle as Endpoint['handle'] };
}

const ok: ErrBody = { Err: '' };

function endpoints(engine: PluginEngine): ReadonlyMap<string, Endpoint> {
  return new Map<string, Endpoint>([
    ['/Plugin.Activate', endpoint(emptyRequestSchema, async () => ({ Implements: ['VolumeDriver'] }))],
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
      endpoint(mountRequestSchema, async ({ Name, ID }) => ({ Mountpoint: await engine.mount(Name, ID), Err: '' })),
    ],
    [
      '/VolumeDriver.Unmount',
      endpoint(mountRequestSchema, async ({ Name, ID }) => {
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

/**
 * The Docker volume plugin protocol (`/Plugin.Activate` and `/VolumeDriver.*`) as an express app over `engine`.
 *
 * Bodies are parsed as JSON whatever their Content-Type (the engine sends none), `null` included, up to
 * {@link MAX_REQUEST_BODY_BYTES}. Every answer carries a JSON body. Domain errors answer 200 with `{ "Err": message }`
 * so Docker prints the message as is; protocol errors answer 400, 404, 405 or 413 with `Err`; an unexpected
 * exception answers 500 with `Err` and is logged, and never stops the process.
 */
export function createPluginApp(engine: PluginEngine, logger: Logger): Express {
  const routes = endpoints(engine);
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');

  const logRequests: RequestHandler = (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      logger.debug(
        { method: methodOf(req.path), volume: volumeOf(req.body), status: res.statusCode, ms: Math.round(ms * 10) / 10 },
        'plugin request',
      );
    });
    next();
  };

  // Resolved before the body is read, so an unknown endpoint or a GET costs no parsing.
  const route: RequestHandler = (req, _res, next) => {
    if (!routes.has(req.path)) {
      throw new ProtocolError(404, `unknown endpoint ${req.path}; this plugin implements VolumeDriver`);
    }
    if (req.method !== 'POST') {
      throw new ProtocolError(405, `${req.method} is not allowed on ${req.path}; the plugin protocol uses POST`, {
        Allow: 'POST',
      });
    }
    next();
  };

  const answer: RequestHandler = async (req, res) => {
    const { schema, handle } = routes.get(req.path) as Endpoint;
    // No body at all (no Content-Length) leaves req.body undefined: the same as the `null` the engine usually sends.
    const parsed = schema.safeParse(req.body ?? null);
    if (!parsed.success) throw new ProtocolError(400, describeRequestIssues(parsed.error));
    res.type(PLUGIN_CONTENT_TYPE).json(await handle(parsed.data as never));
  };

  const fail: ErrorRequestHandler = (error, req, res, next) => {
    const response = toErrorResponse(error);
    const fields = { method: methodOf(req.path), volume: volumeOf(req.body), status: response.status, err: response.body.Err };
    if (response.level === 'error') logger.error({ ...fields, stack: (error as Error)?.stack }, 'plugin request failed');
    else logger.warn(fields, 'plugin request refused');
    if (res.headersSent) {
      next(error);
      return;
    }
    res.status(response.status).set(response.headers).type(PLUGIN_CONTENT_TYPE).json(response.body);
  };

  app.use(logRequests);
  app.use(route);
  app.use(express.json({ type: () => true, strict: false, limit: MAX_REQUEST_BODY_BYTES }));
  app.use(answer);
  app.use(fail);
  return app;
}
