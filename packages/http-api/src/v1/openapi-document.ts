import { createRequire } from 'node:module';
import * as z from 'zod';
import { createDocument, type ZodOpenApiOperationObject, type ZodOpenApiResponsesObject } from 'zod-openapi';
import {
  backingListSchema,
  createVolumeRequestSchema,
  errorBodySchema,
  mountAnswerSchema,
  mountRequestSchema,
  volumeListSchema,
  volumeNameSchema,
  volumeSchema,
} from './api-schemas.js';
import { MAX_API_BODY_BYTES } from './volume-api-router.js';

const json = (schema: z.ZodType) => ({ content: { 'application/json': { schema } } });

const failure = (description: string) => ({ description, ...json(errorBodySchema) });

/** The failures every /v1 operation may answer. */
const COMMON_FAILURES: ZodOpenApiResponsesObject = {
  '401': failure('A token is configured and the request did not carry it (`Authorization: Bearer <token>`)'),
  '405': failure('Another method than those documented for this path; `Allow` lists them'),
  '500': failure('A bug in Stowage; the details are in its log, not in the answer'),
};

/** What an operation that reads a request body may answer besides. */
const BODY_FAILURES: ZodOpenApiResponsesObject = {
  '400': failure(
    'Malformed JSON, an unknown field, a value of the wrong type, or what the engine refuses (kind InvalidArgument)',
  ),
  '413': failure(`A request body over ${MAX_API_BODY_BYTES} bytes`),
  '415': failure('A request body that is not `application/json`'),
};

const BACKEND_FAILURE = {
  '503': failure('The backend or the host failed (kind BackendFailure); retrying later may succeed'),
};
const NOT_FOUND = { '404': failure('No backing has the volume (kind NotFound)') };
const BAD_NAME = { '400': failure('An invalid volume name (kind InvalidArgument)') };

const namePath = { path: z.object({ name: volumeNameSchema }) };

const mountOperation = (summary: string, success: ZodOpenApiResponsesObject): ZodOpenApiOperationObject => ({
  summary,
  tags: ['volumes'],
  requestParams: namePath,
  requestBody: { required: true, ...json(mountRequestSchema) },
  responses: { ...success, ...BODY_FAILURES, ...NOT_FOUND, ...BACKEND_FAILURE, ...COMMON_FAILURES },
});

const statusOk = z.object({ status: z.literal('ok') });
const ready = z.object({ status: z.literal('ready'), backings: z.array(z.string()) });
const notReady = z.object({ status: z.literal('not ready'), failing: z.array(z.string()) });
const noToken = { security: [] };

// From dist/v1 and src/v1 alike, the package's own manifest.
const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

let built: object | undefined;

/** {@link buildOpenApiDocument} for this package's version, built once. */
export function openApiDocument(): object {
  built ??= buildOpenApiDocument(version);
  return built;
}

/**
 * The OpenAPI 3.1 document of the HTTP server: the /v1 volume API and the ops endpoints, generated from the zod
 * schemas that validate the requests (zod-openapi), so the document and the server cannot drift.
 */
export function buildOpenApiDocument(version: string): object {
  return createDocument({
    openapi: '3.1.0',
    info: {
      title: 'Stowage HTTP API',
      version,
      description:
        "One Stowage node's volume engine over HTTP: the /v1 volume API (the engine's operations and errors) and " +
        'the ops endpoints. When the server has a token file, every endpoint but /healthz and /readyz requires ' +
        '`Authorization: Bearer <token>`; without one it listens on loopback only and requires nothing.',
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    },
    security: [{ bearer: [] }],
    tags: [{ name: 'volumes' }, { name: 'ops' }],
    paths: {
      '/v1/volumes': {
        get: {
          summary: 'Every volume of every backing, sorted by name',
          tags: ['volumes'],
          responses: {
            '200': { description: 'The volumes', ...json(volumeListSchema) },
            ...BACKEND_FAILURE,
            ...COMMON_FAILURES,
          },
        },
        post: {
          summary: 'Create a volume; creating it again with the same backing and options answers the existing one',
          tags: ['volumes'],
          requestBody: { required: true, ...json(createVolumeRequestSchema) },
          responses: {
            '201': { description: 'The volume', ...json(volumeSchema) },
            ...BODY_FAILURES,
            '409': failure(
              'A volume of that name exists with other options or on another backing (kind AlreadyExists)',
            ),
            ...BACKEND_FAILURE,
            ...COMMON_FAILURES,
          },
        },
      },
      '/v1/volumes/{name}': {
        get: {
          summary: 'One volume',
          tags: ['volumes'],
          requestParams: namePath,
          responses: {
            '200': { description: 'The volume', ...json(volumeSchema) },
            ...BAD_NAME,
            ...NOT_FOUND,
            ...BACKEND_FAILURE,
            ...COMMON_FAILURES,
          },
        },
        delete: {
          summary: 'Remove a volume and its data; refused while this node has it mounted',
          tags: ['volumes'],
          requestParams: namePath,
          responses: {
            '204': { description: 'Removed' },
            ...BAD_NAME,
            ...NOT_FOUND,
            '409': failure('The volume is mounted (kind InUse)'),
            ...BACKEND_FAILURE,
            ...COMMON_FAILURES,
          },
        },
      },
      '/v1/volumes/{name}/mount': {
        post: mountOperation('Mount a volume for a caller, counted per caller, and answer its path on this node', {
          '200': { description: 'Mounted', ...json(mountAnswerSchema) },
          '409': failure(
            "The volume is in use where this node cannot mount it (kind InUse), or this node is at the backing's limit of volumes in use (kind LimitReached)",
          ),
        }),
      },
      '/v1/volumes/{name}/unmount': {
        post: mountOperation("Match one of the caller's mounts; the volume is released when none is left", {
          '204': { description: 'Unmounted' },
        }),
      },
      '/v1/backings': {
        get: {
          summary: 'The backings this node serves, their scope and the default',
          tags: ['volumes'],
          responses: { '200': { description: 'The backings', ...json(backingListSchema) }, ...COMMON_FAILURES },
        },
      },
      '/v1/events': {
        get: {
          summary:
            "What happens to this node's volumes, as Server-Sent Events: `id` the event's seq, `event` its type, " +
            '`data` the event as JSON; a `reset` message first when the events after the given id are no longer kept',
          tags: ['volumes'],
          requestParams: {
            query: z.object({
              since: z.string().regex(/^\d+$/).optional().meta({ description: 'Replay the kept events after this id' }),
              types: z.string().optional().meta({ description: 'Only these event types, comma-separated' }),
            }),
            header: z.object({
              'last-event-id': z
                .string()
                .regex(/^\d+$/)
                .optional()
                .meta({ description: 'As `since`, and wins over it: what a reconnecting EventSource sends' }),
            }),
          },
          responses: {
            '200': {
              description: 'The stream, open until the client or the server closes it',
              content: { 'text/event-stream': { schema: z.string() } },
            },
            '400': failure('An unknown or repeated query parameter, an id that is not a whole number, an unknown type'),
            '503': failure('The most event streams are open (`Retry-After`), or the server is closing'),
            ...COMMON_FAILURES,
          },
        },
      },
      '/v1/openapi.json': {
        get: {
          summary: 'This document',
          tags: ['ops'],
          responses: {
            '200': {
              description: 'The OpenAPI document',
              content: { 'application/json': { schema: z.object({}).loose() } },
            },
            ...COMMON_FAILURES,
          },
        },
      },
      '/healthz': {
        get: {
          summary: 'The process answers',
          tags: ['ops'],
          ...noToken,
          responses: { '200': { description: 'Alive', ...json(statusOk) }, '405': COMMON_FAILURES['405'] as never },
        },
      },
      '/readyz': {
        get: {
          summary: 'Every backing can serve',
          tags: ['ops'],
          ...noToken,
          responses: {
            '200': { description: 'Ready: the backings', ...json(ready) },
            '503': { description: 'Not ready: the backings that cannot serve (why is in the log)', ...json(notReady) },
            '405': COMMON_FAILURES['405'] as never,
          },
        },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics',
          tags: ['ops'],
          responses: {
            '200': {
              description: 'The Prometheus text exposition format, version 0.0.4',
              content: { 'text/plain': { schema: z.string() } },
            },
            ...COMMON_FAILURES,
          },
        },
      },
    },
  });
}
