import { describe, expect, it } from 'vitest';
import { withAnswered, withEngineRestarted, withMount, withUnmount } from '../src/engine/caller-holds.js';
import type { MountRecord } from '../src/engine/mount-record.js';

const base: MountRecord = { backing: 'mem', state: 'mounted', mountpoint: '/m', callers: {} };
/** As the Docker adapter mounts: the engine resends Mounts it got no answer to. */
const docker = { awaitsAnswer: true };

describe('caller holds', () => {
  it('counts every Mount, marks it unanswered until answered, and leaves no empty lists', () => {
    const once = withMount(base, 'a', docker);
    expect(once).toEqual({ ...base, callers: { a: 1 }, unanswered: ['a'] });
    const twice = withMount(withAnswered(once, 'a'), 'a', docker);
    expect(twice).toEqual({ ...base, callers: { a: 2 }, unanswered: ['a'] });
    expect(withAnswered(twice, 'a')).toEqual({ ...base, callers: { a: 2 } });
  });

  it('leaves an in-process caller\'s Mounts answered: they are never taken for a resend', () => {
    expect(withMount(withMount(base, 'a'), 'a')).toEqual({ ...base, callers: { a: 2 } });
  });

  it('matches Unmounts one by one and forgets a caller with its marks when its count reaches zero', () => {
    const held = withEngineRestarted(withMount(withMount(base, 'a', docker), 'a', docker));
    expect(held.earlierEngine).toEqual(['a']);
    const once = withUnmount(held, 'a') as MountRecord;
    expect(once).toMatchObject({ callers: { a: 1 }, unanswered: ['a'], earlierEngine: ['a'] });
    expect(withUnmount(once, 'a')).toEqual({ ...base, callers: {} });
    expect(withUnmount(base, 'nobody')).toBeUndefined();
  });

  it('restarts the count of a caller held under an earlier engine, and only that caller', () => {
    const held = withEngineRestarted(withMount(withMount(withMount(base, 'a', docker), 'a'), 'b'));
    const again = withMount(held, 'a');
    expect(again.callers).toEqual({ a: 1, b: 1 });
    expect(again.earlierEngine).toEqual(['b']);
    expect(withMount(again, 'a').callers).toEqual({ a: 2, b: 1 });
  });
});
