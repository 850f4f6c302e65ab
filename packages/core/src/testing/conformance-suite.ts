import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { VolumeHandle } from '../contract/storage-provider.js';
import { MAX_VOLUME_NAME_LENGTH } from '../engine/volume-name.js';
import { ErrorKind } from '../errors/error-kind.js';
import { StowageError } from '../errors/stowage-error.js';
import { ConformanceHarness } from './conformance-harness.js';
import type { ConformanceSetup } from './conformance-setup.js';

const PARALLELISM = 8;
const PROBE_FILE = 'stowage-conformance.txt';

/**
 * The conformance suite a driver runs against its provider: the whole {@link StorageProvider} contract, exercised
 * through a real {@link VolumeEngine} the way every adapter uses it (round trips, option validation, idempotent and
 * conflicting creates, mount reference counting, remove-while-mounted refusal, concurrency on one name, names at
 * the edge of the rules, a restart).
 *
 * Call it once, at the top level of a vitest test file; `setup` runs before every test and gets a fresh provider:
 *
 * ```ts
 * // test/conformance.test.ts
 * import { mkdtemp, rm } from 'node:fs/promises';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * import { runConformanceSuite, type ConformanceSetup } from '@stowage/core/testing';
 * import { MyProvider } from '../src/index.js';
 *
 * // The return type keeps TypeScript from widening several invalidOptions entries into an unusable union.
 * runConformanceSuite('my-backing', async (): Promise<ConformanceSetup> => {
 *   const dir = await mkdtemp(join(tmpdir(), 'my-backing-'));
 *   return {
 *     provider: new MyProvider({ root: dir }),
 *     createOptions: { size: '1' },
 *     otherCreateOptions: { size: '2' },
 *     invalidOptions: [{ options: { size: 'abc' }, error: /size: must be a whole number/ }],
 *     teardown: () => rm(dir, { recursive: true, force: true }),
 *   };
 * });
 * ```
 *
 * Each test builds an engine with a temporary state directory, the real host operations and a silent logger, and
 * stops it afterwards; volumes a test leaves are unmounted and removed through the provider before `teardown`.
 * Names are prefixed per test, so one backend may serve every test. Mount paths must be real directories on this
 * host (the suite writes a file into them). The provider's `capabilities` adapt the cases: an `ephemeral` provider
 * is checked to serve a volume again after Unmount instead of keeping its data, and one that `mountsInPlace` to
 * answer each Mount with the volume's own path and to mount nothing. Slow backends: raise `testTimeout`
 * and `hookTimeout` in the vitest config. Needs `vitest` (an optional peer dependency of `@stowage/core`).
 *
 * @param name Shown in the test report, usually the backing's name.
 * @param setup Makes a fresh provider and what the suite needs to know about it, once per test.
 */
export function runConformanceSuite(name: string, setup: () => Promise<ConformanceSetup>): void {
  describe(`${name}: StorageProvider conformance`, () => {
    let h: ConformanceHarness;

    beforeEach(async () => {
      h = await ConformanceHarness.start(setup);
    });

    afterEach(async () => {
      await h?.close();
    });

    describe('create, inspect, list, remove', () => {
      it('creates a volume that get and list report with its backing and options, until it is removed', async () => {
        const n = h.name('round-trip');
        const created = await h.engine.create(n, h.options());
        expect(created).toMatchObject({ name: n, backing: h.provider.name, scope: h.provider.scope });
        expect(created.options, 'the options recorded are the parsed createOptions, defaults included').toEqual(
          h.parsedOptions(h.setup.createOptions),
        );

        const got = await h.engine.get(n);
        expect(got).toMatchObject({ name: n, backing: h.provider.name, options: created.options });
        if (got?.createdAt !== undefined) {
          expect(Number.isNaN(got.createdAt.getTime()), 'createdAt is a valid date').toBe(false);
        }
        expect((await h.engine.list()).filter((v) => v.name === n)).toHaveLength(1);

        await h.engine.remove(n);
        expect(await h.engine.get(n)).toBeUndefined();
        expect((await h.engine.list()).map((v) => v.name)).not.toContain(n);
      });

      it('answers undefined to get of a missing name and NotFound to its remove', async () => {
        const n = h.name('missing');
        expect(await h.engine.get(n)).toBeUndefined();
        await refusal(h.engine.remove(n), ErrorKind.NotFound);
        expect(h.provider.calls('create')).toBe(0);
      });

      it('gives a volume re-created after remove none of the old data', async () => {
        const n = h.name('recreate');
        await h.engine.create(n, h.options());
        const first = await h.engine.mount(n, 'writer');
        await writeFile(join(first, PROBE_FILE), 'old');
        await h.engine.unmount(n, 'writer');
        await h.engine.remove(n);

        await h.engine.create(n, h.options());
        const second = await h.engine.mount(n, 'reader');
        await expect(stat(join(second, PROBE_FILE))).rejects.toMatchObject({ code: 'ENOENT' });
        await h.engine.unmount(n, 'reader');
      });
    });

    describe('capacity', () => {
      it('reports the room left for new volumes in whole bytes through the engine, or declares none', async () => {
        const backing = h.provider.name;
        if (h.provider.inner.capacity) {
          expect(h.engine.measuresCapacity(backing)).toBe(true);
          const bytes = await h.engine.capacity(backing);
          expect(Number.isSafeInteger(bytes) && (bytes as number) >= 0, `capacity ${bytes}`).toBe(true);
        } else {
          expect(h.engine.measuresCapacity(backing)).toBe(false);
          expect(await h.engine.capacity(backing)).toBeUndefined();
        }
      });
    });

    describe('option validation', () => {
      it('refuses an unknown option with InvalidArgument naming it, and creates nothing', async () => {
        const n = h.name('unknown-option');
        const error = await refusal(
          h.engine.create(n, { ...h.options(), 'no-such-option': 'x' }),
          ErrorKind.InvalidArgument,
        );
        expect(error.message).toContain('no-such-option');
        expect(await h.engine.get(n)).toBeUndefined();
        expect(h.provider.calls('create')).toBe(0);
      });

      it('refuses each invalid option set with the expected message, and creates nothing', async (ctx) => {
        const cases = h.setup.invalidOptions ?? [];
        ctx.skip(cases.length === 0, 'the setup gives no invalidOptions');
        for (const [index, { options, error: pattern }] of cases.entries()) {
          const n = h.name(`invalid-${index}`);
          const error = await refusal(
            h.engine.create(n, h.options(options)),
            ErrorKind.InvalidArgument,
            JSON.stringify(options),
          );
          expect(error.message, `options ${JSON.stringify(options)}`).toMatch(pattern);
          expect(await h.engine.get(n)).toBeUndefined();
        }
        expect(h.provider.calls('create')).toBe(0);
      });
    });

    describe('repeated creates', () => {
      it('accepts the same create twice and keeps one volume', async () => {
        const n = h.name('idempotent');
        const first = await h.engine.create(n, h.options());
        const second = await h.engine.create(n, h.options());
        expect(second.options).toEqual(first.options);
        expect((await h.engine.list()).filter((v) => v.name === n)).toHaveLength(1);
        expect(h.provider.calls('create', n)).toBe(1);
      });

      it('refuses a create of an existing name with other options with AlreadyExists, keeping the original', async (ctx) => {
        const other = h.setup.otherCreateOptions;
        ctx.skip(other === undefined, 'the setup gives no otherCreateOptions');
        expect(
          h.parsedOptions(other),
          'otherCreateOptions must differ from createOptions once defaults are applied',
        ).not.toEqual(h.parsedOptions(h.setup.createOptions));
        const n = h.name('conflict');
        const original = await h.engine.create(n, h.options());
        await refusal(h.engine.create(n, h.options(other)), ErrorKind.AlreadyExists);
        expect((await h.engine.get(n))?.options).toEqual(original.options);
        expect(h.provider.calls('create', n)).toBe(1);
      });
    });

    describe('mount and unmount', () => {
      it('mounts to an existing directory whose data survives an unmount and a new mount', async (ctx) => {
        ctx.skip(h.ephemeral, 'the provider declares capabilities.ephemeral: its data does not outlive Unmount');
        const n = h.name('persist');
        await h.engine.create(n, h.options());
        const path = await h.engine.mount(n, 'first');
        expect((await stat(path)).isDirectory()).toBe(true);
        await writeFile(join(path, PROBE_FILE), 'hello');
        await h.engine.unmount(n, 'first');

        const again = await h.engine.mount(n, 'second');
        expect(await readFile(join(again, PROBE_FILE), 'utf8')).toBe('hello');
        await h.engine.unmount(n, 'second');
      });

      it('serves an ephemeral volume again after an unmount, as a writable directory', async (ctx) => {
        ctx.skip(!h.ephemeral, 'the provider keeps data across Unmount (no capabilities.ephemeral)');
        const n = h.name('ephemeral');
        await h.engine.create(n, h.options());
        const path = await h.engine.mount(n, 'first');
        await writeFile(join(path, PROBE_FILE), 'gone soon');
        await h.engine.unmount(n, 'first');
        expect(await h.engine.get(n), 'the volume outlives its data').toBeDefined();

        const again = await h.engine.mount(n, 'second');
        expect((await stat(again)).isDirectory()).toBe(true);
        await writeFile(join(again, PROBE_FILE), 'fresh');
        expect(await readFile(join(again, PROBE_FILE), 'utf8')).toBe('fresh');
        await h.engine.unmount(n, 'second');
      });

      it("mounts in place as it declares: the volume's own path, with no mount made or left", async (ctx) => {
        ctx.skip(!h.mountsInPlace, 'the provider does not declare capabilities.mountsInPlace');
        const n = h.name('in-place');
        await h.engine.create(n, h.options());
        expect(await h.inPlaceProblems(n)).toEqual([]);
      });

      it('refuses to mount a missing volume with NotFound', async () => {
        const n = h.name('mount-missing');
        await refusal(h.engine.mount(n, 'caller'), ErrorKind.NotFound);
        await refusal(h.engine.unmount(n, 'caller'), ErrorKind.NotFound);
      });

      it('gives two callers one path and keeps the volume mounted until both have unmounted', async () => {
        const n = h.name('two-callers');
        await h.engine.create(n, h.options());
        const a = await h.engine.mount(n, 'caller-a');
        const b = await h.engine.mount(n, 'caller-b');
        expect(b).toBe(a);
        expect(h.provider.calls('mount', n)).toBe(1);
        expect(await h.holds(n)).toBe(2);

        await h.engine.unmount(n, 'caller-a');
        expect(h.provider.calls('unmount', n)).toBe(0);
        expect(await h.holds(n)).toBe(1);
        await writeFile(join(b, PROBE_FILE), 'still mounted');
        expect(await readFile(join(b, PROBE_FILE), 'utf8')).toBe('still mounted');

        await h.engine.unmount(n, 'caller-b');
        expect(h.provider.calls('unmount', n)).toBe(1);
        expect(await h.holds(n)).toBe(0);
      });

      it('needs two unmounts for one caller ID mounted twice', async () => {
        const n = h.name('same-id');
        await h.engine.create(n, h.options());
        const first = await h.engine.mount(n, 'container');
        expect(await h.engine.mount(n, 'container')).toBe(first);

        await h.engine.unmount(n, 'container');
        expect(await h.holds(n)).toBe(1);
        expect(h.provider.calls('unmount', n)).toBe(0);
        await h.engine.unmount(n, 'container');
        expect(await h.holds(n)).toBe(0);
        expect(h.provider.calls('unmount', n)).toBe(1);
        await refusal(h.engine.unmount(n, 'container'), ErrorKind.NotFound);
      });

      it('refuses an unmount with an unknown ID with NotFound and keeps the mount', async () => {
        const n = h.name('unknown-id');
        await h.engine.create(n, h.options());
        const path = await h.engine.mount(n, 'known');
        await writeFile(join(path, PROBE_FILE), 'kept');

        await refusal(h.engine.unmount(n, 'stranger'), ErrorKind.NotFound);
        expect(await h.holds(n)).toBe(1);
        expect(h.provider.calls('unmount', n)).toBe(0);
        expect(await readFile(join(path, PROBE_FILE), 'utf8')).toBe('kept');
        await h.engine.unmount(n, 'known');
      });
    });

    describe('remove while mounted', () => {
      it('refuses with InUse and keeps the data, then removes once unmounted', async () => {
        const n = h.name('in-use');
        await h.engine.create(n, h.options());
        const path = await h.engine.mount(n, 'user');
        await writeFile(join(path, PROBE_FILE), 'precious');

        await refusal(h.engine.remove(n), ErrorKind.InUse);
        expect(h.provider.calls('remove', n)).toBe(0);
        expect(await h.engine.get(n)).toBeDefined();
        expect(await readFile(join(path, PROBE_FILE), 'utf8')).toBe('precious');

        await h.engine.unmount(n, 'user');
        await h.engine.remove(n);
        expect(await h.engine.get(n)).toBeUndefined();
      });
    });

    describe('concurrency on one name', () => {
      it(`ends with exactly one volume after ${PARALLELISM} parallel creates`, async () => {
        const n = h.name('parallel-create');
        const results = await Promise.allSettled(
          Array.from({ length: PARALLELISM }, () => h.engine.create(n, h.options())),
        );
        expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
        expect((await h.engine.list()).filter((v) => v.name === n)).toHaveLength(1);
        expect(h.provider.calls('create', n)).toBe(1);
      });

      it(`mounts once for ${PARALLELISM} parallel mounts and unmounts once after ${PARALLELISM} parallel unmounts`, async () => {
        const n = h.name('parallel-mount');
        await h.engine.create(n, h.options());
        const ids = Array.from({ length: PARALLELISM }, (_, i) => `caller-${i}`);

        const paths = await Promise.all(ids.map((id) => h.engine.mount(n, id)));
        expect(new Set(paths).size).toBe(1);
        expect(h.provider.calls('mount', n)).toBe(1);
        expect(await h.holds(n)).toBe(PARALLELISM);

        const results = await Promise.allSettled(ids.map((id) => h.engine.unmount(n, id)));
        expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
        expect(h.provider.calls('unmount', n)).toBe(1);
        expect(await h.holds(n)).toBe(0);
        await h.engine.remove(n);
      });
    });

    describe('names at the edge of the rules', () => {
      it(`serves a ${MAX_VOLUME_NAME_LENGTH}-character name end to end`, async () => {
        const n = h.track(h.prefix + 'x'.repeat(MAX_VOLUME_NAME_LENGTH - h.prefix.length));
        expect(n).toHaveLength(MAX_VOLUME_NAME_LENGTH);
        await h.engine.create(n, h.options());
        expect((await h.engine.list()).map((v) => v.name)).toContain(n);
        const path = await h.engine.mount(n, 'long');
        await writeFile(join(path, PROBE_FILE), 'long name');
        expect(await readFile(join(path, PROBE_FILE), 'utf8')).toBe('long name');
        await h.engine.unmount(n, 'long');
        await h.engine.remove(n);
        expect(await h.engine.get(n)).toBeUndefined();
      });

      it('refuses too long, climbing, hidden, nested, control-character and empty names with InvalidArgument, touching nothing', async () => {
        const tooLong = h.prefix + 'x'.repeat(MAX_VOLUME_NAME_LENGTH + 1 - h.prefix.length);
        const bad = [tooLong, '../etc', '..', '.hidden', 'a/b', `${h.prefix}/../x`, 'a\nb', 'a\\b', '-rf', 'a b', ''];
        const before = (await h.engine.list()).map((v) => v.name).sort();

        for (const name of bad) {
          const what = JSON.stringify(name);
          await refusal(h.engine.create(name, h.options()), ErrorKind.InvalidArgument, `create ${what}`);
          await refusal(h.engine.get(name), ErrorKind.InvalidArgument, `get ${what}`);
          await refusal(h.engine.mount(name, 'caller'), ErrorKind.InvalidArgument, `mount ${what}`);
          await refusal(h.engine.remove(name), ErrorKind.InvalidArgument, `remove ${what}`);
        }
        for (const op of ['create', 'inspect', 'mount', 'remove'] as const) expect(h.provider.calls(op), op).toBe(0);
        expect((await h.engine.list()).map((v) => v.name).sort()).toEqual(before);
      });
    });

    describe('restart', () => {
      it('keeps the volume listed and its mount recorded, so the same caller can unmount after a restart', async () => {
        const n = h.name('restart');
        await h.engine.create(n, h.options());
        const path = await h.engine.mount(n, 'survivor');
        await writeFile(join(path, PROBE_FILE), 'before restart');

        await h.restart();

        expect((await h.engine.list()).map((v) => v.name)).toContain(n);
        expect(await h.holds(n)).toBe(1);
        const after = await h.engine.path(n);
        expect(after).toBeDefined();
        expect(await readFile(join(after as string, PROBE_FILE), 'utf8')).toBe('before restart');

        await h.engine.unmount(n, 'survivor');
        expect(h.provider.calls('unmount', n)).toBe(1);
        // The release after the restart gets the ref recorded at the Mount: the provider need not look the volume up.
        expect(h.provider.lastHandle('unmount', n)).toEqual(refHandle(n, h.provider.mountedRef(n)));
        expect(await h.holds(n)).toBe(0);
        await h.engine.remove(n);
        expect(await h.engine.get(n)).toBeUndefined();
      });

      it('hands mount and remove the volume inspect just answered, and a restart remount its recorded ref', async () => {
        const n = h.name('handles');
        await h.engine.create(n, h.options());
        await h.engine.mount(n, 'c1');
        const mounted = h.provider.lastHandle('mount', n);
        const inspected = await h.provider.inner.inspect(n);
        expect(mounted?.volume).toMatchObject({ name: n, options: inspected?.options });
        expect(mounted?.ref).toBe(inspected?.ref);

        await h.restart();
        // The remount at start-up has no lookup of its own: name and ref only.
        expect(h.provider.lastHandle('mount', n)).toEqual(refHandle(n, h.provider.mountedRef(n)));
        await h.engine.unmount(n, 'c1');

        await h.engine.remove(n);
        const removed = h.provider.lastHandle('remove', n);
        expect(removed?.volume).toMatchObject({ name: n, options: inspected?.options });
        expect(removed?.ref).toBe(inspected?.ref);
      });
    });
  });
}

/** The handle of a volume the engine knows from its mount record only. */
function refHandle(name: string, ref: string | undefined): VolumeHandle {
  return ref === undefined ? { name } : { name, ref };
}

/** Awaits `operation`, which must fail with a StowageError of `kind`, and returns that error. */
async function refusal(operation: Promise<unknown>, kind: ErrorKind, what = 'the operation'): Promise<StowageError> {
  let outcome: { value: unknown } | { error: unknown };
  try {
    outcome = { value: await operation };
  } catch (error) {
    outcome = { error };
  }
  if ('value' in outcome) {
    expect.fail(`${what}: expected a ${kind} StowageError, but it succeeded with ${JSON.stringify(outcome.value)}`);
  }
  const { error } = outcome;
  const got = StowageError.is(error) ? `${error.kind}: ${error.message}` : String(error);
  expect(StowageError.is(error, kind), `${what}: expected a ${kind} StowageError, got ${got}`).toBe(true);
  return error as StowageError;
}
