import { describe, expect, it } from 'vitest';
import {
  callersOfEarlierBoots,
  withConfirmed,
  withMount,
  withoutCallers,
  withWithdrawn,
  withUnmount,
} from '../src/engine/caller-holds.js';
import { NO_CALLERS, type MountRecord } from '../src/engine/mount-record.js';

const base: MountRecord = { backing: 'mem', state: 'mounted', mountpoint: '/m', callers: NO_CALLERS };
const provisional = { provisional: true, now: 1_000 };
const inProcess = { provisional: false, now: 2_000 };

describe('caller holds', () => {
  it('counts every Mount, keeps it pending until answered, and remembers when the caller last mounted', () => {
    const once = withMount(base, 'a', provisional);
    expect(once.callers.get('a')).toEqual({ count: 1, pending: 1, lastMountAt: 1_000 });
    const twice = withMount(withConfirmed(once, 'a'), 'a', { provisional: true, now: 3_000 });
    expect(twice.callers.get('a')).toEqual({ count: 2, pending: 1, lastMountAt: 3_000 });
    expect(withConfirmed(twice, 'a').callers.get('a')).toEqual({ count: 2, pending: 0, lastMountAt: 3_000 });
    expect(base.callers.size).toBe(0);
  });

  it("leaves an in-process caller's Mounts final: nothing to answer, nothing to take back", () => {
    const held = withMount(withMount(base, 'a', inProcess), 'a', inProcess);
    expect(held.callers.get('a')).toEqual({ count: 2, pending: 0, lastMountAt: 2_000 });
    expect(withWithdrawn(held, 'a')).toBeUndefined();
  });

  it('matches Unmounts one by one and forgets a caller when its count reaches zero', () => {
    const held = withMount(withMount(base, 'a', provisional), 'a', provisional);
    const once = withUnmount(held, 'a') as MountRecord;
    expect(once.callers.get('a')).toEqual({ count: 1, pending: 1, lastMountAt: 1_000 });
    expect((withUnmount(once, 'a') as MountRecord).callers.size).toBe(0);
    expect(withUnmount(base, 'nobody')).toBeUndefined();
  });

  it('answers only a pending Mount: an answered hold or an unknown caller is left as it is', () => {
    const answered = withConfirmed(withMount(base, 'a', provisional), 'a');
    expect(withConfirmed(answered, 'a')).toBe(answered);
    expect(answered.callers.get('a')).toEqual({ count: 1, pending: 0, lastMountAt: 1_000 });
    expect(withConfirmed(answered, 'nobody')).toBe(answered);
  });

  it('takes back an undelivered Mount, and only a pending one', () => {
    const held = withMount(withConfirmed(withMount(base, 'a', provisional), 'a'), 'a', provisional);
    const back = withWithdrawn(held, 'a') as MountRecord;
    expect(back.callers.get('a')).toMatchObject({ count: 1, pending: 0 });
    expect(withWithdrawn(back, 'a')).toBeUndefined();
    expect((withWithdrawn(withMount(base, 'b', provisional), 'b') as MountRecord).callers.has('b')).toBe(false);
  });

  it('stamps a Mount with the boot it was counted in, and keeps the stamp through Unmounts and answers', () => {
    const held = withMount(withMount(base, 'a', { ...provisional, boot: 'boot-1' }), 'a', {
      ...inProcess,
      boot: 'boot-1',
    });
    expect(held.callers.get('a')).toEqual({ count: 2, pending: 1, lastMountAt: 2_000, boot: 'boot-1' });
    expect((withUnmount(held, 'a') as MountRecord).callers.get('a')?.boot).toBe('boot-1');
    expect(withConfirmed(held, 'a').callers.get('a')?.boot).toBe('boot-1');
    // A later Mount in a later boot moves the whole caller to it.
    expect(withMount(held, 'a', { ...inProcess, boot: 'boot-2' }).callers.get('a')?.boot).toBe('boot-2');
  });

  it('names the callers counted in another boot, never one of no known boot', () => {
    let record = withMount(base, 'then', { ...provisional, boot: 'boot-1' });
    record = withMount(record, 'now', { ...provisional, boot: 'boot-2' });
    record = withMount(record, 'unknown', provisional);
    expect(callersOfEarlierBoots(record, 'boot-2')).toEqual(['then']);
    expect(callersOfEarlierBoots(record, 'boot-3')).toEqual(['then', 'now']);
    expect(callersOfEarlierBoots(base, 'boot-2')).toEqual([]);
  });

  it('drops whole callers and leaves the others', () => {
    const held = withMount(withMount(withMount(base, 'a', provisional), 'a', provisional), 'b', provisional);
    const left = withoutCallers(held, ['a', 'ghost']);
    expect([...left.callers.keys()]).toEqual(['b']);
    expect(held.callers.size).toBe(2);
  });

  it.each(['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf', 'prototype'])(
    'counts a caller named %s like any other ID',
    (id) => {
      const held = withMount(withMount(base, 'real', provisional), id, provisional);
      expect(held.callers.get(id)).toEqual({ count: 1, pending: 1, lastMountAt: 1_000 });
      expect(withUnmount(base, id)).toBeUndefined();
      const released = withUnmount(held, id) as MountRecord;
      expect([...released.callers.keys()]).toEqual(['real']);
      expect(released.callers.get('real')?.count).toBe(1);
    },
  );
});
