import { ErrorKind, type Logger, StowageError, type VolumeEngine } from '@stowage/core';
import express, { type ErrorRequestHandler, type Request, type RequestHandler, Router } from 'express';
import type * as z from 'zod';
import { ApiRequestError, toApiErrorResponse } from './api-errors.js';
import {
  type ApiBackingList,
  type ApiMountAnswer,
  type ApiVolumeList,
  createVolumeRequestSchema,
  mountRequestSchema,
} from './api-schemas.js';
import { toApiVolume } from './api-volume.js';
import { describeRequestIssues } from '../request-issues.js';

/** What the /v1 API calls of the engine; a {@link VolumeEngine} is one. */
export type VolumeApiEngine = Pick<
  VolumeEngine,
  'list' | 'get' | 'create' | 'remove' | 'mount' | 'unmount' | 'backings' | 'scope'
>;

/** Request bodies above this are refused with 413; the largest real one (a create with options) is a few hundred bytes. */
export const MAX_API_BODY_BYTES = 64 * 1024;

/**
 * The /v1 volume API as an express router, to be mounted at `/v1`: the engine's operations with its errors, each
 * kind answered with its status (`STATUS_BY_KIND`) and `{ "error", "kind" }`. Request bodies must be JSON objects
 * (`Content-Type: application/json`, at most {@link MAX_API_BODY_BYTES}) with no unknown field; names and caller IDs
 * are checked by the engine itself, so they are refused as every other adapter refuses them. `openApiDocument` is
 * served at `/openapi.json`. Paths it does not know fall through to the app (room for more routers under /v1).
 */
export function createVolumeApiRouter(engine: VolumeApiEngine, logger: Logger, openApiDocument: object): Router {
  const router = Router({ strict: true });
  const readJson = express.json({ limit: MAX_API_BODY_BYTES, strict: true, type: 'application/json' });

  router
    .route('/openapi.json')
    .get((_req, res) => {
      res.json(openApiDocument);
    })
    .all(refuseMethod('GET, HEAD'));

  router
    .route('/volumes')
    .get(async (_req, res) => {
      const volumes = [...(await engine.list())].sort((a, b) => a.name.localeCompare(b.name));
      res.json({ volumes: volumes.map(toApiVolume) } satisfies ApiVolumeList);
    })
    .post(requireJsonBody, readJson, async (req, res) => {
      const { name, options } = parseBody(createVolumeRequestSchema, req);
      const volume = await engine.create(name, options ?? {});
      res
        .status(201)
        .location(`/v1/volumes/${encodeURIComponent(volume.name)}`)
        .json(toApiVolume(volume));
    })
    .all(refuseMethod('GET, HEAD, POST'));

  router
    .route('/volumes/:name')
    .get(async (req, res) => {
      const name = nameOf(req);
      const volume = await engine.get(name);
      if (!volume) throw StowageError.notFound(`volume "${name}" not found`);
      res.json(toApiVolume(volume));
    })
    .delete(async (req, res) => {
      await engine.remove(nameOf(req));
      res.status(204).end();
    })
    .all(refuseMethod('GET, HEAD, DELETE'));

  router
    .route('/volumes/:name/mount')
    .post(requireJsonBody, readJson, async (req, res) => {
      const name = nameOf(req);
      const { caller } = parseBody(mountRequestSchema, req);
      const mountpoint = await engine.mount(name, caller);
      res.json({ name, mountpoint } satisfies ApiMountAnswer);
    })
    .all(refuseMethod('POST'));

  router
    .route('/volumes/:name/unmount')
    .post(requireJsonBody, readJson, async (req, res) => {
      const name = nameOf(req);
      const { caller } = parseBody(mountRequestSchema, req);
      await engine.unmount(name, caller);
      res.status(204).end();
    })
    .all(refuseMethod('POST'));

  router
    .route('/backings')
    .get((_req, res) => {
      const backings = engine.backings().map(({ name, aliases, scope, isDefault }) => ({
        name,
        aliases: [...aliases],
        scope,
        isDefault,
      }));
      res.json({ scope: engine.scope(), backings } satisfies ApiBackingList);
    })
    .all(refuseMethod('GET, HEAD'));

  router.use(answerApiFailure(logger));
  return router;
}

/** The `{name}` path parameter as express decoded it (`%2F` is a `/` by now, which the engine then refuses). */
function nameOf(req: Request): string {
  return String(req.params.name);
}

function parseBody<S extends z.ZodType>(schema: S, req: Request): z.infer<S> {
  const parsed = schema.safeParse(req.body);
  if (!parsed.success)
    throw new ApiRequestError(400, describeRequestIssues(parsed.error), { kind: ErrorKind.InvalidArgument });
  return parsed.data;
}

/**
 * A body of another type is refused (415) rather than ignored: read as "no body", a create with a form-encoded body
 * would fail on a missing name and hide the real mistake. A request with no body at all (or an empty one) reaches
 * the schema, which says what is missing.
 */
const requireJsonBody: RequestHandler = (req, _res, next) => {
  if (req.is('application/json') === false && req.get('content-length') !== '0') {
    next(
      new ApiRequestError(415, 'the request body must be JSON: send Content-Type: application/json', {
        kind: ErrorKind.InvalidArgument,
      }),
    );
    return;
  }
  next();
};

function refuseMethod(allow: string): RequestHandler {
  return (req, _res, next) => {
    const path = `${req.baseUrl}${req.path}`.slice(0, 300);
    next(new ApiRequestError(405, `${req.method} is not allowed on ${path}`, { headers: { Allow: allow } }));
  };
}

function answerApiFailure(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const answer = toApiErrorResponse(error);
    const fields = { method: req.method, path: `${req.baseUrl}${req.path}`.slice(0, 300), status: answer.status };
    if (answer.internal) {
      logger.error(
        { ...fields, err: (error as Error)?.message, stack: (error as Error)?.stack },
        'volume API request failed',
      );
    } else {
      logger.warn({ ...fields, err: answer.body.error }, 'volume API request refused');
    }
    res.status(answer.status).set(answer.headers).json(answer.body);
  };
}
