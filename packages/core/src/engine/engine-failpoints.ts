import { failpointsOf } from '../failpoints/failpoint.js';

/**
 * Every failpoint of the volume engine, one per step boundary of create, mount, unmount and remove. "intent" is the
 * write-ahead `mounting`/`unmounting` record, "commit" the record that makes the operation's outcome durable; a
 * point named for a table write is reached on the counted path (another caller already holds the volume) too.
 * `mount:before-answered-record` lies after a Mount's answer has left, before the record that it was answered.
 */
export const ENGINE_FAILPOINTS = [
  'create:before-provider',
  'create:after-provider',
  'mount:before-table-write',
  'mount:after-intent',
  'mount:after-provider',
  'mount:after-commit',
  'mount:before-answered-record',
  'unmount:before-table-write',
  'unmount:after-intent',
  'unmount:after-provider',
  'unmount:after-commit',
  'remove:before-provider',
  'remove:after-provider',
] as const;

export type EngineFailpoint = (typeof ENGINE_FAILPOINTS)[number];

/** The engine's failpoint: see {@link failpoint}. */
export const engineFailpoint = failpointsOf(ENGINE_FAILPOINTS);
