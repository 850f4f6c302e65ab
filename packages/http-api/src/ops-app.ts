import { DEFAULT_READINESS_BUDGET_MS, type Logger, type VolumeEngine } from '@stowage/core';
import express, { type ErrorRequestHandler, type Express, type RequestHandler, type Response } from 'express';
import { type EventStreamLimits, eventStreamHandler, type StreamedEvents } from './event-stream.js';
import type { OpsMetrics } from './ops-metrics.js';
import type { OpsToken } from './ops-token.js';
import { openApiDocument } from './v1/openapi-document.js';
import { createVolumeApiRouter, type VolumeApiEngine } from './v1/volume-api-router.js';

/** What the ops app calls of the engine: its readiness, and the volume operations of the /v1 API. */
export type OpsEngine = Pick<VolumeEngine, 'readiness'> & VolumeApiEngine;

/** Options of {@link createOpsApp}. */
export interface OpsAppOptions {
  readonly engine: OpsEngine;
  readonly metrics: OpsMetrics;
  readonly logger: Logger;
  /** When given, every endpoint but `/healthz` and `/readyz` requires `Authorization: Bearer <token>`. */
  readonly token?: OpsToken;
  /** How long `/readyz` waits for each backing's check ({@link DEFAULT_READINESS_BUDGET_MS} by default). */
  readonly readinessBudgetMs?: number;
  /** The hub `GET /v1/events` streams (Server-Sent Events); without it, that path is not served. */
  readonly events?: StreamedEvents;
  readonly eventStreamLimits?: EventStreamLimits;
  /** Aborted when the server closes, to end the event streams, which would otherwise hold it open. */
  readonly closing?: AbortSignal;
}

/** What every endpoint answers: express answers HEAD with GET's route. */
const ALLOW = 'GET, HEAD';

function sendError(res: Response, status: number, error: string, headers: Record<string, string> = {}): void {
  res.status(status).set(headers).json({ error });
}

/**
 * The HTTP ops endpoints as an express app: `/healthz` (the process answers), `/readyz` (each backing can serve; 503
 * naming those that cannot), `/metrics` (Prometheus text), and the volume API under `/v1` (`createVolumeApiRouter`,
 * with its OpenAPI document at `/v1/openapi.json`). Every answer but the metrics is JSON: unknown paths 404, other
 * methods 405 with `Allow`, and an unexpected failure 500 with no detail (it is logged instead).
 */
export function createOpsApp(options: OpsAppOptions): Express {
  const { engine, metrics, logger, token } = options;
  const budgetMs = options.readinessBudgetMs ?? DEFAULT_READINESS_BUDGET_MS;
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', false);

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', async (_req, res) => {
    const backings = await engine.readiness(budgetMs);
    const failing = backings.filter((backing) => !backing.ready);
    if (failing.length === 0) {
      res.json({ status: 'ready', backings: backings.map((backing) => backing.name) });
      return;
    }
    // The reasons may name paths and cloud resources: logged for the operator, not told to unauthenticated callers.
    for (const { name, problem } of failing) logger.warn({ backing: name, problem }, 'backing not ready');
    res.status(503).json({ status: 'not ready', failing: failing.map((backing) => backing.name) });
  });

  // Before the token check: these two answer anyone, so a wrong method on them is a 405, not a 401.
  refuseOtherMethods(app, '/healthz');
  refuseOtherMethods(app, '/readyz');

  if (token) app.use(requireToken(token));

  app.get('/metrics', async (_req, res) => {
    const { contentType, text } = await metrics.scrape();
    res.set('Content-Type', contentType).send(text);
  });

  refuseOtherMethods(app, '/metrics');
  if (options.events) {
    const { events, eventStreamLimits: limits, closing } = options;
    app.get('/v1/events', eventStreamHandler({ events, logger, registry: metrics.registry, limits, closing }));
    refuseOtherMethods(app, '/v1/events');
  }
  app.use('/v1', createVolumeApiRouter(engine, logger, openApiDocument()));
  app.use((_req, res) => {
    sendError(res, 404, 'no such endpoint; this server answers /healthz, /readyz, /metrics and /v1 (/v1/openapi.json)');
  });
  app.use(answerFailure(logger));
  return app;
}

/** Any method but GET and HEAD on `path` answers 405; register it after the path's GET route. */
function refuseOtherMethods(app: Express, path: string): void {
  app.all(path, (req, res) => {
    sendError(res, 405, `${req.method} is not allowed on ${path}`, { Allow: ALLOW });
  });
}

function requireToken(token: OpsToken): RequestHandler {
  return (req, res, next) => {
    if (token.admits(req.get('authorization'))) {
      next();
      return;
    }
    sendError(res, 401, 'a bearer token is required: Authorization: Bearer <token>', {
      'WWW-Authenticate': 'Bearer realm="stowage"',
    });
  };
}

/** Express's own errors (a malformed URL) keep their 4xx status; anything else is a 500 with no stack in the answer. */
function answerFailure(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const status = (error as { status?: unknown }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      sendError(res, status, 'bad request');
      return;
    }
    logger.error(
      {
        method: req.method,
        path: req.path.slice(0, 100),
        err: (error as Error)?.message,
        stack: (error as Error)?.stack,
      },
      'ops request failed',
    );
    sendError(res, 500, 'internal error; see the stowage log');
  };
}
