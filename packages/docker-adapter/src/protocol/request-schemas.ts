import { describeValueType } from '@stowage/http-api';
import { z } from 'zod';

const requiredString = z.string({
  error: (issue) =>
    issue.input === undefined ? 'required' : `must be a string, got ${describeValueType(issue.input)}`,
});

const body = <S extends z.ZodRawShape>(shape: S) =>
  z.object(shape, { error: (issue) => `must be a JSON object, got ${describeValueType(issue.input)}` });

// Docker sends `"Opts": null` when the user gave no --opt; Go's map[string]string makes every value a string.
// zod drops an own `__proto__` key from a record without an issue, so the create would go on without that option:
// it is refused here, as any option the backing does not know is refused later.
const options = z
  .unknown()
  .check((ctx) => {
    if (typeof ctx.value === 'object' && ctx.value !== null && Object.hasOwn(ctx.value, '__proto__')) {
      ctx.issues.push({ code: 'custom', message: 'is not an option name', input: ctx.value, path: ['__proto__'] });
    }
  })
  .pipe(
    z.record(z.string(), z.string({ error: (issue) => `must be a string, got ${describeValueType(issue.input)}` }), {
      error: (issue) => `must be an object of strings, got ${describeValueType(issue.input)}`,
    }),
  )
  .nullish();

/** `/VolumeDriver.Create`: `{"Name":"v1","Opts":{"backing":"local"}}` or `"Opts":null`. */
export const createRequestSchema = body({ Name: requiredString, Opts: options });

/** `/VolumeDriver.Remove`, `.Get` and `.Path`: `{"Name":"v1"}`. */
export const nameRequestSchema = body({ Name: requiredString });

/** `/VolumeDriver.Mount` and `.Unmount`: `{"Name":"v1","ID":"<one id per container mount>"}`. */
export const mountRequestSchema = body({ Name: requiredString, ID: requiredString });

/** `/Plugin.Activate`, `/VolumeDriver.List` and `.Capabilities`: the engine sends `null` (or nothing); anything goes. */
export const emptyRequestSchema = z.unknown();

export type CreateRequestBody = z.infer<typeof createRequestSchema>;
export type NameRequestBody = z.infer<typeof nameRequestSchema>;
export type MountRequestBody = z.infer<typeof mountRequestSchema>;
