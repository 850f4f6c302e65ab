import { describe, expect, it, vi } from 'vitest';
import { MountJournal } from '../src/engine/mount-journal.js';
import { ErrorKind } from '../src/errors/error-kind.js';
import { StowageError } from '../src/errors/stowage-error.js';
import { provisional, rejection, useEngineHarness } from './support/engine-harness.js';
import { countsOf } from './support/holds.js';
import { MemoryProvider } from './support/memory-provider.js';

// What Docker prints after "Error response from daemon:" is the message; what an adapter maps is the kind.
describe('VolumeEngine errors a user sees', () => {
  const h = useEngineHarness();

  describe('create', () => {
    it('refuses a backing option that is not a string', async () => {
      const engine = await h.start();
      const error = await rejection(engine.create('v', { backing: 5 }));
      expect(error.kind).toBe(ErrorKind.InvalidArgument);
      expect(error.message).toBe('backing: must be a string');
      // Only the start's list, which filled the catalogue.
      expect(h.provider.calls).toEqual(['list']);
    });

    it('treats an empty backing option as none', async () => {
      const engine = await h.start({
        providers: [h.provider, new MemoryProvider('local')],
        backingPreference: ['local'],
      });
      expect((await engine.create('v', { backing: '' })).backing).toBe('local');
    });

    it('names the volume and the backing when the backend fails, and remembers nothing', async () => {
      const engine = await h.start();
      h.provider.failNext.create = new Error('quota exceeded');
      const error = await rejection(engine.create('v', { size: '1' }));
      expect(error.kind).toBe(ErrorKind.BackendFailure);
      expect(error.message).toBe('creating volume "v" on backing mem failed: quota exceeded');
      expect(await engine.get('v')).toBeUndefined();
    });

    it('refuses a name that exists on another backing, naming it', async () => {
      const other = new MemoryProvider('other');
      const engine = await h.start({ providers: [h.provider, other] });
      await engine.create('v', { backing: 'other' });
      const error = await rejection(engine.create('v', { backing: 'mem', size: '1' }));
      expect(error.kind).toBe(ErrorKind.AlreadyExists);
      expect(error.message).toBe('volume "v" already exists with backing=other');
      expect(h.provider.count('create')).toBe(0);
    });

    it('says what options an existing volume has, and what to do', async () => {
      const plain = new MemoryProvider('plain', 'local', [{ name: 'label', type: 'string', description: 'label' }]);
      const engine = await h.start({ providers: [plain] });
      await engine.create('v');
      const error = await rejection(engine.create('v', { label: 'x' }));
      expect(error.kind).toBe(ErrorKind.AlreadyExists);
      expect(error.message).toBe(
        'volume "v" already exists with other options (no options); remove it first or create it with the same options',
      );
      await engine.create('w', { label: 'x' });
      expect((await rejection(engine.create('w', { label: 'y' }))).message).toBe(
        'volume "w" already exists with other options (label=x); remove it first or create it with the same options',
      );
      expect((await rejection(engine.create('w'))).kind).toBe(ErrorKind.AlreadyExists);
    });
  });

  describe('remove', () => {
    it('answers NotFound for a volume no backing has, and asks none to remove it', async () => {
      const engine = await h.start();
      const error = await rejection(engine.remove('ghost'));
      expect(error.kind).toBe(ErrorKind.NotFound);
      expect(error.message).toBe('volume "ghost" not found');
      expect(h.provider.count('remove')).toBe(0);
    });

    it('counts every mount in the refusal', async () => {
      const engine = await h.start();
      await engine.create('v', { size: '1' });
      await engine.mount('v', 'c1');
      await engine.mount('v', 'c2');
      const error = await rejection(engine.remove('v'));
      expect(error.message).toBe(
        'volume "v" is in use on this node (2 mounts); stop the containers using it, then remove it',
      );
    });

    it('names the volume and the backing when the backend fails, and keeps the volume known', async () => {
      const engine = await h.start();
      await engine.create('v', { size: '1' });
      h.provider.failNext.remove = new Error('snapshot in progress');
      const error = await rejection(engine.remove('v'));
      expect(error.kind).toBe(ErrorKind.BackendFailure);
      expect(error.message).toBe('removing volume "v" from backing mem failed: snapshot in progress');
      expect((await engine.get('v'))?.name).toBe('v');
    });

    it('finishes a release the last Unmount could not, before removing', async () => {
      const engine = await h.start();
      await engine.create('v', { size: '1' });
      await engine.mount('v', 'c1');
      h.provider.failNext.unmount = new Error('device busy');
      const error = await rejection(engine.unmount('v', 'c1'));
      expect(error.kind).toBe(ErrorKind.BackendFailure);
      expect(error.message).toBe('releasing volume "v" (backing mem) failed: device busy');
      expect(h.provider.mounted.has('v')).toBe(true);
      expect(engine.holds()).toEqual([]);

      await engine.remove('v');
      expect(h.provider.calls.slice(-2)).toEqual(['unmount', 'remove']);
      expect(h.provider.mounted.has('v')).toBe(false);
      expect(await h.recordOf('v')).toBeUndefined();
    });

    it('keeps the volume when that release fails again', async () => {
      const engine = await h.start();
      await engine.create('v', { size: '1' });
      await engine.mount('v', 'c1');
      h.provider.failNext.unmount = new Error('device busy');
      await rejection(engine.unmount('v', 'c1'));
      h.provider.failNext.unmount = new Error('device still busy');
      expect((await rejection(engine.remove('v'))).message).toBe(
        'releasing volume "v" (backing mem) failed: device still busy',
      );
      expect(h.provider.volumes.has('v')).toBe(true);
      expect((await h.recordOf('v'))?.state).toBe('unmounting');
    });
  });

  describe('mount', () => {
    it('answers NotFound for a volume no backing has, and records nothing', async () => {
      const engine = await h.start();
      const error = await rejection(engine.mount('ghost', 'c1'));
      expect(error.kind).toBe(ErrorKind.NotFound);
      expect(error.message).toBe('volume "ghost" not found');
      expect(await h.recordOf('ghost')).toBeUndefined();
      expect(h.provider.count('mount')).toBe(0);
    });

    it('writes nothing for a Mount that cannot find its volume, held or not', async () => {
      const engine = await h.start();
      await engine.create('v', { size: '1' });
      await engine.mount('v', 'c1', provisional);
      await engine.confirmMount('v', 'c1');
      await engine.stop();
      h.provider.mounted.clear();
      h.provider.failNext.mount = new Error('attached elsewhere');
      const restarted = await h.start();
      expect((await h.recordOf('v'))?.state).toBe('unavailable');

      const appends = vi.spyOn(MountJournal.prototype, 'append');
      expect((await rejection(restarted.mount('ghost', 'c1', provisional))).kind).toBe(ErrorKind.NotFound);
      h.provider.failNext.inspect = StowageError.backendFailure('cloud API down');
      expect((await rejection(restarted.mount('v', 'c2', provisional))).message).toBe(
        'cannot tell whether volume "v" exists: backing mem: cloud API down',
      );
      expect(appends).not.toHaveBeenCalled();
      expect(countsOf(await h.recordOf('v'))).toEqual({ c1: 1 });
    });

    it('names the volume and the backing when the backend fails', async () => {
      const engine = await h.start();
      await engine.create('v', { size: '1' });
      h.provider.failNext.mount = new Error('attach timed out');
      const error = await rejection(engine.mount('v', 'c1'));
      expect(error.kind).toBe(ErrorKind.BackendFailure);
      expect(error.message).toBe('mounting volume "v" (backing mem) failed: attach timed out');
      expect(await h.recordOf('v')).toBeUndefined();
    });

    it("reports the mount's failure even when undoing it fails too, and finishes the undo at the next Mount", async () => {
      const engine = await h.start();
      await engine.create('v', { size: '1' });
      h.provider.failNext.mount = new Error('attach timed out');
      h.provider.failNext.unmount = new Error('detach timed out');
      const error = await rejection(engine.mount('v', 'c1'));
      expect(error.message).toBe('mounting volume "v" (backing mem) failed: attach timed out');
      expect(h.logger.problems()).toEqual([
        {
          level: 'warn',
          fields: { volume: 'v', err: 'detach timed out' },
          message: 'cleanup after a failed mount failed; will retry at the next mount or start',
        },
      ]);
      // The intent stays, holding nobody: not answered as mounted, and nothing to remove it for.
      expect(await h.recordOf('v')).toMatchObject({ state: 'mounting', callers: new Map() });
      expect(engine.holds()).toEqual([]);

      expect(await engine.mount('v', 'c1')).toBe('/mnt/mem/v');
      expect(countsOf(await h.recordOf('v'))).toEqual({ c1: 1 });
    });

    it('keeps the holds of callers of a volume it could not mount again, and answers none of them as mounted', async () => {
      const engine = await h.start();
      await engine.create('v', { size: '1' });
      await engine.mount('v', 'c1', provisional);
      await engine.stop();
      h.provider.mounted.clear();
      h.provider.failNext.mount = new Error('attached elsewhere');
      const restarted = await h.start();
      h.provider.failNext.mount = new Error('still attached elsewhere');
      await rejection(restarted.mount('v', 'c2', provisional));
      const record = await h.recordOf('v');
      expect(record?.state).toBe('unavailable');
      expect(countsOf(record)).toEqual({ c1: 1 });
      expect(restarted.holds()).toEqual([
        { name: 'v', backing: 'mem', state: 'unavailable', callers: [expect.objectContaining({ id: 'c1', count: 1 })] },
      ]);
    });

    it.each([
      ['an empty ID', '', 'mount ID is required'],
      ['no ID at all', undefined, 'mount ID is required'],
      ['an ID longer than 256 characters', 'x'.repeat(257), 'invalid mount ID: at most 256 printable characters'],
      ['an ID with a newline', 'a\nb', 'invalid mount ID: at most 256 printable characters'],
      ['an ID with DEL', 'a\u007fb', 'invalid mount ID: at most 256 printable characters'],
    ])('refuses %s for Mount and Unmount alike', async (_, id, message) => {
      const engine = await h.start();
      await engine.create('v', { size: '1' });
      for (const call of [() => engine.mount('v', id as string), () => engine.unmount('v', id as string)]) {
        const error = await rejection(call());
        expect(error.kind).toBe(ErrorKind.InvalidArgument);
        expect(error.message).toBe(message);
      }
      expect(h.provider.count('mount')).toBe(0);
    });

    it('takes an ID of exactly 256 printable characters', async () => {
      const engine = await h.start();
      await engine.create('v', { size: '1' });
      const id = 'é'.repeat(256);
      await engine.mount('v', id);
      await engine.unmount('v', id);
      expect(h.provider.mounted.has('v')).toBe(false);
    });
  });

  describe('a record whose backing is no longer enabled', () => {
    async function heldByDisabledBacking(): Promise<void> {
      const old = new MemoryProvider('old');
      const engine = await h.start({ providers: [h.provider, old] });
      await engine.create('v', { backing: 'old' });
      await engine.mount('v', 'c1');
      await engine.stop();
    }

    it('is kept as it is at start-up, with an error naming the backing', async () => {
      await heldByDisabledBacking();
      const before = await h.recordOf('v');
      const engine = await h.start();
      expect(await h.recordOf('v')).toEqual(before);
      expect(engine.holds()).toEqual([
        { name: 'v', backing: 'old', state: 'mounted', callers: [expect.objectContaining({ id: 'c1', count: 1 })] },
      ]);
      expect(h.logger.problems()).toEqual([
        {
          level: 'error',
          fields: { volume: 'v', backing: 'old' },
          message: 'mount record names a backing that is not enabled; keeping it',
        },
      ]);
    });

    it('cannot be released: the last Unmount fails, saying which backing to enable, and the hold stays', async () => {
      await heldByDisabledBacking();
      const engine = await h.start();
      const error = await rejection(engine.unmount('v', 'c1'));
      expect(error.kind).toBe(ErrorKind.BackendFailure);
      expect(error.message).toBe('backing old is not enabled on this node; enable it to release its volumes');
      expect(countsOf(await h.recordOf('v'))).toEqual({ c1: 1 });
    });
  });

  describe('get, list and path', () => {
    it('lists the volumes of every backing', async () => {
      const other = new MemoryProvider('other');
      const engine = await h.start({ providers: [h.provider, other] });
      await engine.create('a', { size: '1' });
      await engine.create('b', { backing: 'other' });
      expect((await engine.list()).map((v) => [v.name, v.backing])).toEqual([
        ['a', 'mem'],
        ['b', 'other'],
      ]);
    });

    it('answers the path of a mounted volume from what this node holds, without asking the backend', async () => {
      const engine = await h.start();
      await engine.create('v', { size: '1' });
      await engine.mount('v', 'c1');
      h.provider.failNext.inspect = new Error('cloud API down');
      const inspects = h.provider.count('inspect');
      expect(await engine.path('v')).toBe('/mnt/mem/v');
      expect(h.provider.count('inspect')).toBe(inspects);
    });

    it('answers NotFound for the path of a volume no backing has', async () => {
      const engine = await h.start();
      const error = await rejection(engine.path('ghost'));
      expect(error.kind).toBe(ErrorKind.NotFound);
      expect(error.message).toBe('volume "ghost" not found');
    });

    it('answers a volume whose release is under way from what this node knows when the backend cannot be asked', async () => {
      const engine = await h.start();
      await engine.create('v', { size: '1' });
      await engine.mount('v', 'c1');
      h.provider.failNext.unmount = new Error('device busy');
      await rejection(engine.unmount('v', 'c1'));
      await engine.stop();
      h.provider.failNext.unmount = new Error('device busy');
      // A new process knows the volume only from its record: the release failed again at start-up.
      const restarted = await h.start();
      h.provider.failNext.inspect = new Error('cloud API down');
      const volume = await restarted.get('v');
      const lookup = 'cannot tell whether volume "v" exists: backing mem: lookup failed: cloud API down';
      expect(volume).toMatchObject({ name: 'v', backing: 'mem', status: { error: lookup, mounts: 0 } });
      expect(h.logger.problems().at(-1)).toEqual({
        level: 'warn',
        fields: { volume: 'v', err: lookup },
        message: 'answering from what this node knows',
      });
    });

    it('forgets a removed volume: it is not answered from memory when the backend cannot be asked', async () => {
      // A global backing is asked about names this node does not know: another node may have made them.
      const global = new MemoryProvider('g', 'global', h.provider.options);
      const engine = await h.start({ providers: [global] });
      await engine.create('v', { size: '1' });
      await engine.remove('v');
      global.failNext.inspect = new Error('cloud API down');
      const error = await rejection(engine.get('v'));
      expect(error.kind).toBe(ErrorKind.BackendFailure);
      expect(error.message).toBe('cannot tell whether volume "v" exists: backing g: lookup failed: cloud API down');
    });

    it('fails, naming every backing that could not be asked, for a volume this node does not know', async () => {
      const one = new MemoryProvider('one', 'global');
      const other = new MemoryProvider('other', 'global');
      const engine = await h.start({ providers: [h.provider, one, other] });
      one.failNext.inspect = new Error('timeout');
      other.failNext.inspect = new Error('throttled');
      const error = await rejection(engine.get('unknown'));
      expect(error.kind).toBe(ErrorKind.BackendFailure);
      expect(error.message).toBe(
        'cannot tell whether volume "unknown" exists: backing one: lookup failed: timeout; backing other: lookup failed: throttled',
      );
      // A local backing whose volumes are all in the catalogue is not asked about a name the catalogue lacks.
      expect(h.provider.count('inspect')).toBe(0);
    });

    it('reports a lookup that fails for a volume it knows as a backend failure, for Mount and Remove alike', async () => {
      const engine = await h.start();
      await engine.create('v', { size: '1' });
      for (const call of [() => engine.mount('v', 'c1'), () => engine.remove('v')]) {
        h.provider.failNext.inspect = new Error('socket hang up');
        const error = await rejection(call());
        expect(error.kind).toBe(ErrorKind.BackendFailure);
        expect(error.message).toBe('cannot tell whether volume "v" exists: backing mem: lookup failed: socket hang up');
      }
      expect(h.provider.volumes.has('v')).toBe(true);
    });

    it("passes a backend's own StowageError on as it is", async () => {
      const engine = await h.start();
      await engine.create('v', { size: '1' });
      h.provider.failNext.mount = StowageError.inUse('attached to i-0abc (running)');
      const error = await rejection(engine.mount('v', 'c1'));
      expect(error.kind).toBe(ErrorKind.InUse);
      expect(error.message).toBe('attached to i-0abc (running)');
    });
  });
});
