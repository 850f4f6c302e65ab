import { describe, expect, it } from 'vitest';
import { BackingRouter } from '../src/engine/backing-router.js';
import { ErrorKind } from '../src/errors/error-kind.js';
import { StowageError } from '../src/errors/stowage-error.js';
import { expectStowageErrorThrown } from '../src/testing/expect-stowage-error.js';
import { MemoryProvider } from './support/memory-provider.js';

const refusal = (build: () => unknown): StowageError => expectStowageErrorThrown(build);

async function addVolume(provider: MemoryProvider, name: string): Promise<void> {
  await provider.create({ name, options: {} });
}

describe('BackingRouter', () => {
  describe('configuration', () => {
    it('refuses to run with no backing at all', () => {
      const error = refusal(() => new BackingRouter([]));
      expect(error.kind).toBe(ErrorKind.InvalidArgument);
      expect(error.message).toBe('no backing is enabled: configure at least one driver');
    });

    it('refuses two providers claiming one name, by name or alias', () => {
      const byAlias = refusal(
        () =>
          new BackingRouter([
            new MemoryProvider('ebs', 'global', [], ['relocatable']),
            new MemoryProvider('other', 'global', [], ['relocatable']),
          ]),
      );
      expect(byAlias.kind).toBe(ErrorKind.InvalidArgument);
      expect(byAlias.message).toBe(
        'backing name "relocatable" is claimed by two providers (ebs and other); enable only one',
      );
      const byName = refusal(
        () => new BackingRouter([new MemoryProvider('a'), new MemoryProvider('b', 'local', [], ['a'])]),
      );
      expect(byName.message).toBe('backing name "a" is claimed by two providers (a and b); enable only one');
    });

    it('refuses a configured default that is not enabled, listing what is', () => {
      const error = refusal(() => new BackingRouter([new MemoryProvider('mem', 'local', [], ['m'])], 'ebs'));
      expect(error.kind).toBe(ErrorKind.InvalidArgument);
      expect(error.message).toBe('default backing "ebs" is not enabled; enabled backings: mem, m');
    });

    it('takes a provider that declares no aliases as having none', () => {
      const plain = Object.assign(new MemoryProvider('plain'), { aliases: undefined });
      const router = new BackingRouter([plain]);
      expect(router.summaries()).toEqual([{ name: 'plain', aliases: [], scope: 'local', isDefault: true }]);
      expect(refusal(() => router.select('nope')).message).toBe(
        'backing: unknown backing "nope"; must be one of plain',
      );
    });

    it('reports each backing with its aliases and which one is the default', () => {
      const router = new BackingRouter(
        [new MemoryProvider('mem'), new MemoryProvider('ebs', 'global', [], ['relocatable', 'block'])],
        'mem',
      );
      expect(router.summaries()).toEqual([
        { name: 'mem', aliases: [], scope: 'local', isDefault: true },
        { name: 'ebs', aliases: ['relocatable', 'block'], scope: 'global', isDefault: false },
      ]);
    });
  });

  describe('the default backing, with none configured', () => {
    const preference = ['shared', 'relocatable', 'local'];
    const defaultOf = (...providers: MemoryProvider[]): string =>
      new BackingRouter(providers, undefined, { preference }).select(undefined).name;

    it("is the first of the adapter's preferences enabled (the Docker adapter: shared, relocatable, local)", () => {
      const shared = new MemoryProvider('efs', 'global', [], ['shared']);
      const relocatable = new MemoryProvider('ebs', 'global', [], ['relocatable']);
      const local = new MemoryProvider('local');
      const other = new MemoryProvider('other');
      expect(defaultOf(other, local, relocatable, shared)).toBe('efs');
      expect(defaultOf(other, local, relocatable)).toBe('ebs');
      expect(defaultOf(other, local)).toBe('local');
    });

    it('is the first provider when none of those is enabled, or with no preference at all', () => {
      expect(defaultOf(new MemoryProvider('first'), new MemoryProvider('second'))).toBe('first');
      const efs = new MemoryProvider('efs', 'global', [], ['shared']);
      expect(new BackingRouter([new MemoryProvider('local'), efs]).select(undefined).name).toBe('local');
    });

    it('is what an empty backing option selects', () => {
      const router = new BackingRouter([new MemoryProvider('first'), new MemoryProvider('local')], undefined, {
        preference,
      });
      expect(router.select('').name).toBe('local');
      expect(router.select('first').name).toBe('first');
    });
  });

  describe('locate', () => {
    it('asks each backing once and answers the one that has the volume', async () => {
      const a = new MemoryProvider('a');
      const b = new MemoryProvider('b');
      await addVolume(b, 'v');
      const router = new BackingRouter([a, b]);
      expect((await router.locate('v'))?.provider).toBe(b);
      expect([a.count('inspect'), b.count('inspect')]).toEqual([1, 1]);
      // Known now: only its backing is asked.
      expect((await router.locate('v'))?.provider).toBe(b);
      expect([a.count('inspect'), b.count('inspect')]).toEqual([1, 2]);
    });

    it('finds a volume that left the backing it was last seen on, asking that backing once', async () => {
      const a = new MemoryProvider('a');
      const b = new MemoryProvider('b');
      await addVolume(a, 'v');
      const router = new BackingRouter([a, b]);
      expect((await router.locate('v'))?.provider).toBe(a);
      a.volumes.delete('v');
      await addVolume(b, 'v');
      const found = await router.locate('v');
      expect(found?.provider).toBe(b);
      expect(found?.volume.name).toBe('v');
      // The first lookup asked both; the second asked a (the cached owner), then only b.
      expect([a.count('inspect'), b.count('inspect')]).toEqual([2, 2]);
      expect(router.cachedOwner('v')).toBe(b);
    });

    it('fails the same way when the backing the volume was last seen on cannot be asked', async () => {
      const a = new MemoryProvider('a');
      const b = new MemoryProvider('b');
      await addVolume(a, 'v');
      const router = new BackingRouter([a, b]);
      await router.locate('v');
      a.failNext.inspect = new Error('timeout');
      const error = await router.locate('v').catch((e: unknown) => e);
      expect(StowageError.is(error, ErrorKind.BackendFailure)).toBe(true);
      expect((error as Error).message).toBe('cannot tell whether volume "v" exists: backing a: lookup failed: timeout');
      expect(b.count('inspect')).toBe(1);
      // Still its owner: a backing that could not answer has not lost the volume.
      expect(router.cachedOwner('v')).toBe(a);
    });

    it('answers undefined only when every backing says the volume does not exist', async () => {
      const router = new BackingRouter([new MemoryProvider('a'), new MemoryProvider('b')]);
      expect(await router.locate('nothing')).toBeUndefined();
    });

    it('fails, naming every lookup that failed, rather than answer "not found"', async () => {
      const a = new MemoryProvider('a');
      const b = new MemoryProvider('b');
      a.failNext.inspect = new Error('timeout');
      b.failNext.inspect = StowageError.backendFailure('throttled');
      const router = new BackingRouter([a, b]);
      const error = await router.locate('v').catch((e: unknown) => e);
      expect(StowageError.is(error, ErrorKind.BackendFailure)).toBe(true);
      expect((error as Error).message).toBe(
        'cannot tell whether volume "v" exists: backing a: lookup failed: timeout; backing b: throttled',
      );
    });
  });
});

describe('BackingRouter readiness', () => {
  it('answers each backing: ready without a check, ready or not with one, naming why', async () => {
    const plain = new MemoryProvider('plain');
    const good = Object.assign(new MemoryProvider('good'), { checkReady: async () => undefined });
    const bad = Object.assign(new MemoryProvider('bad'), {
      checkReady: async () => {
        throw new Error('root gone');
      },
    });
    const typed = Object.assign(new MemoryProvider('typed'), {
      checkReady: async () => {
        throw StowageError.backendFailure('EC2 unreachable');
      },
    });
    expect(await new BackingRouter([plain, good, bad, typed]).readiness(1_000)).toEqual([
      { name: 'plain', ready: true },
      { name: 'good', ready: true },
      { name: 'bad', ready: false, problem: 'backing bad is not ready: root gone' },
      { name: 'typed', ready: false, problem: 'EC2 unreachable' },
    ]);
  });

  it('answers a hung check not ready within its budget, and waits for it rather than calling it again', async () => {
    let calls = 0;
    let finish = () => undefined as void;
    const hung = Object.assign(new MemoryProvider('hung'), {
      checkReady: () => {
        calls += 1;
        // The first check hangs until the test lets it finish; later ones answer at once.
        return calls > 1 ? Promise.resolve() : new Promise<void>((resolve) => (finish = resolve));
      },
    });
    const router = new BackingRouter([hung, new MemoryProvider('fine')]);
    const late = {
      name: 'hung',
      ready: false,
      problem: 'backing hung gave no answer to its readiness check within 50 ms',
    };
    expect(await router.readiness(50)).toEqual([late, { name: 'fine', ready: true }]);
    expect(await router.readiness(50)).toEqual([late, { name: 'fine', ready: true }]);
    expect(calls).toBe(1);
    finish();
    await new Promise((resolve) => setImmediate(resolve));
    expect((await router.readiness(50))[0]).toEqual({ name: 'hung', ready: true });
    expect(calls).toBe(2);
  });
});
