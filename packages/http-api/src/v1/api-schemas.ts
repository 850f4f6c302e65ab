import { ErrorKind, MAX_VOLUME_NAME_LENGTH } from '@stowage/core';
import * as z from 'zod';
import 'zod-openapi';
import { describeValueType } from '../request-issues.js';

/**
 * The /v1 API's request and answer shapes. The request schemas validate what callers send; every schema here is
 * also what the OpenAPI document (`openapi-document.ts`) is generated from, so the two cannot drift.
 */

const stringField = (what = 'a string') =>
  z.string({
    error: (issue) =>
      issue.input === undefined ? 'required' : `must be ${what}, got ${describeValueType(issue.input)}`,
  });

/**
 * A volume name. Only its type is checked here: the engine's own check (`validateVolumeName`) decides, so the API
 * refuses exactly what every other adapter refuses, with the same message. The pattern and length are documented
 * for clients (a test holds them to the engine's check).
 */
export const volumeNameSchema = stringField().meta({
  id: 'VolumeName',
  description: "A volume name: letters, digits, '_', '.' and '-', starting with a letter or digit",
  pattern: '^[a-zA-Z0-9][a-zA-Z0-9_.-]*$',
  maxLength: MAX_VOLUME_NAME_LENGTH,
  example: 'db1',
});

/** The longest caller ID the engine accepts (its own check decides; this documents it). */
export const MAX_CALLER_ID_LENGTH = 256;

/** Whatever `__proto__` key a JSON body carries is its own property: zod's record would drop it without a word. */
const noProtoKey = z.unknown().check((ctx) => {
  if (typeof ctx.value === 'object' && ctx.value !== null && Object.hasOwn(ctx.value, '__proto__')) {
    ctx.issues.push({ code: 'custom', message: 'is not an option name', input: ctx.value, path: ['__proto__'] });
  }
});

/** Create options as `docker volume create --opt` gives them: every value a string; `backing` picks the backing. */
export const volumeOptionsSchema = noProtoKey
  .pipe(
    z.record(z.string(), stringField(), {
      error: (issue) => `must be an object of strings, got ${describeValueType(issue.input)}`,
    }),
  )
  .meta({
    id: 'VolumeOptions',
    description:
      "Create options, every value a string (the backing's options; `backing` names the backing, else the default)",
    example: { backing: 'local', uid: '1000' },
    // Rendered from the request's side, the leading `unknown` of the pipe would document no type at all.
    override: { type: 'object', additionalProperties: { type: 'string' } },
  });

const requestBody = <S extends z.ZodRawShape>(shape: S) =>
  z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'invalid_type' ? `must be a JSON object, got ${describeValueType(issue.input)}` : undefined,
  });

/** `POST /v1/volumes`: `{"name": "db1", "options": {"backing": "local"}}`. */
export const createVolumeRequestSchema = requestBody({
  name: volumeNameSchema,
  options: volumeOptionsSchema.optional(),
}).meta({ id: 'CreateVolumeRequest' });

/** `POST /v1/volumes/{name}/mount` and `/unmount`: `{"caller": "<one ID per use of the volume>"}`. */
export const mountRequestSchema = requestBody({
  caller: stringField().meta({
    description:
      'Who mounts the volume (a container, a task): every mount is counted per caller and must be matched by an ' +
      'unmount with the same ID; the volume is released when none is left',
    minLength: 1,
    maxLength: MAX_CALLER_ID_LENGTH,
    example: 'task-4f1c',
  }),
}).meta({ id: 'MountRequest' });

/** A volume as the API answers it: the engine's `Volume`, with its date as RFC 3339. */
export const volumeSchema = z
  .object({
    name: z.string(),
    backing: z.string().meta({ description: 'The backing (provider) holding the volume' }),
    scope: z.enum(['local', 'global']),
    createdAt: z.iso.datetime().optional(),
    options: z.record(z.string(), z.string()).meta({ description: 'The options the volume was created with' }),
    mountpoint: z
      .string()
      .optional()
      .meta({ description: "The volume's path on this node: its mount, or the backing's own path; absent if none" }),
    status: z
      .record(z.string(), z.unknown())
      .meta({ description: "The backing's facts about the volume, with `backing` and `mounts` (this node's holds)" }),
  })
  .meta({ id: 'Volume' });

export const volumeListSchema = z.object({ volumes: z.array(volumeSchema) }).meta({ id: 'VolumeList' });

export const mountAnswerSchema = z
  .object({ name: z.string(), mountpoint: z.string().meta({ description: "The volume's path on this node" }) })
  .meta({ id: 'MountAnswer' });

export const backingSchema = z
  .object({
    name: z.string(),
    aliases: z.array(z.string()),
    scope: z.enum(['local', 'global']).meta({ description: '`global`: every node sees the same volumes' }),
    isDefault: z.boolean().meta({ description: 'Creates that name no backing go here' }),
  })
  .meta({ id: 'Backing' });

export const backingListSchema = z
  .object({
    scope: z.enum(['local', 'global']).meta({ description: '`global` only when every backing is' }),
    backings: z.array(backingSchema),
  })
  .meta({ id: 'BackingList' });

/**
 * Every failed answer: `kind` is the engine's error kind when the failure is one (request-shape errors are
 * `InvalidArgument`, as the engine's own), absent for the server's own refusals (401, 404 of an unknown path, 405, 500).
 */
export const errorBodySchema = z
  .object({
    error: z.string().meta({ description: 'What went wrong, a sentence to show a user as is' }),
    kind: z.enum(ErrorKind).optional(),
  })
  .meta({ id: 'Error' });

export type CreateVolumeRequest = z.infer<typeof createVolumeRequestSchema>;
export type MountRequest = z.infer<typeof mountRequestSchema>;
/** A volume as the /v1 API answers it. */
export type ApiVolume = z.infer<typeof volumeSchema>;
export type ApiVolumeList = z.infer<typeof volumeListSchema>;
export type ApiMountAnswer = z.infer<typeof mountAnswerSchema>;
export type ApiBackingList = z.infer<typeof backingListSchema>;
export type ApiErrorBody = z.infer<typeof errorBodySchema>;
