import { describe, expect, it } from 'vitest';
import {
  holdCount,
  mountRecordToJson,
  NO_CALLERS,
  parseMountRecord,
  recordedHandle,
  volumeRefProblem,
  type MountRecord,
} from '../src/engine/mount-record.js';
import { MAX_VOLUME_REF_LENGTH } from '../src/contract/storage-provider.js';

// What a restart reads back decides what callers hold: a record it cannot vouch for must be refused (the table is
// then reported unreadable and the operator looks at it), never read as something else.
describe('parseMountRecord', () => {
  const valid = {
    backing: 'mem',
    state: 'mounted',
    mountpoint: '/mnt/v',
    callers: [{ id: 'c1', count: 2, pending: 1, at: 1_000 }],
  };

  it('reads a record as this version writes it', () => {
    expect(parseMountRecord(valid)).toEqual({
      backing: 'mem',
      state: 'mounted',
      mountpoint: '/mnt/v',
      callers: new Map([['c1', { count: 2, pending: 1, lastMountAt: 1_000 }]]),
    });
  });

  it('reads a caller written without pending or time as answered, counted at time 0', () => {
    const record = parseMountRecord({
      backing: 'mem',
      state: 'unavailable',
      callers: [{ id: 'c1', count: 1 }],
    }) as MountRecord;
    expect(record.callers.get('c1')).toEqual({ count: 1, pending: 0, lastMountAt: 0 });
    expect(record.mountpoint).toBeUndefined();
  });

  it.each([
    [null, 'not a JSON object'],
    ['mounted', 'not a JSON object'],
    [[valid], 'not a JSON object'],
    [{ ...valid, backing: 3 }, 'backing is not a name'],
    [{ ...valid, backing: '' }, 'backing is not a name'],
    [{ ...valid, state: 'mountin' }, 'unknown state "mountin"'],
    [{ ...valid, state: 7 }, 'unknown state 7'],
    [{ ...valid, mountpoint: 42 }, 'mountpoint is not a path'],
    [{ ...valid, callers: [null] }, 'a caller is not an object'],
    [{ ...valid, callers: ['c1'] }, 'a caller is not an object'],
    [{ ...valid, callers: [{ count: 1 }] }, 'a caller has no ID'],
    [{ ...valid, callers: [{ id: 7, count: 1 }] }, 'a caller has no ID'],
    [{ ...valid, callers: [{ id: '', count: 1 }] }, 'a caller has no ID'],
    [{ ...valid, callers: [{ id: 'c1', count: 1, boot: 7 }] }, 'caller "c1" has a bad boot'],
    [{ ...valid, callers: [{ id: 'c1', count: 1, boot: '' }] }, 'caller "c1" has a bad boot'],
    [{ ...valid, callers: [{ id: 'c1', count: 1, boot: 'a\nb' }] }, 'caller "c1" has a bad boot'],
    [{ ...valid, callers: [{ id: 'c1', count: 1, boot: 'b'.repeat(65) }] }, 'caller "c1" has a bad boot'],
    [
      {
        ...valid,
        callers: [
          { id: 'c1', count: 1 },
          { id: 'c1', count: 1 },
        ],
      },
      'caller "c1" appears twice',
    ],
    [{ ...valid, callers: [{ id: 'c1', count: 0 }] }, 'caller "c1" has no positive count'],
    [{ ...valid, callers: [{ id: 'c1', count: -1 }] }, 'caller "c1" has no positive count'],
    [{ ...valid, callers: [{ id: 'c1', count: 1.5 }] }, 'caller "c1" has no positive count'],
    [{ ...valid, callers: [{ id: 'c1', count: '2' }] }, 'caller "c1" has no positive count'],
    [{ ...valid, callers: [{ id: 'c1' }] }, 'caller "c1" has no positive count'],
    [{ ...valid, callers: [{ id: 'c1', count: 1, pending: 2 }] }, 'caller "c1" has a bad pending count'],
    [{ ...valid, callers: [{ id: 'c1', count: 2, pending: -1 }] }, 'caller "c1" has a bad pending count'],
    [{ ...valid, callers: [{ id: 'c1', count: 2, pending: '1' }] }, 'caller "c1" has a bad pending count'],
    [{ ...valid, callers: [{ id: 'c1', count: 1, at: -5 }] }, 'caller "c1" has a bad time'],
    [{ ...valid, callers: [{ id: 'c1', count: 1, at: 'now' }] }, 'caller "c1" has a bad time'],
    [{ ...valid, callers: [{ id: 'c1', count: 1, at: 2 ** 60 }] }, 'caller "c1" has a bad time'],
  ])('refuses %j: %s', (data, problem) => {
    expect(parseMountRecord(data)).toBe(problem);
  });

  describe('as 0.1 wrote it (callers as an object)', () => {
    const legacy = { backing: 'mem', state: 'mounted', mountpoint: '/mnt/v', callers: { a: 2, b: 1 } };

    it('reads counts, and the Mounts 0.1 listed unanswered as pending', () => {
      const record = parseMountRecord({ ...legacy, unanswered: ['b'] }) as MountRecord;
      expect(record.callers).toEqual(
        new Map([
          ['a', { count: 2, pending: 0, lastMountAt: 0 }],
          ['b', { count: 1, pending: 1, lastMountAt: 0 }],
        ]),
      );
      expect(holdCount(record)).toBe(3);
    });

    it.each([
      [{ ...legacy, callers: null }, 'callers is not an object'],
      [{ ...legacy, callers: 'a' }, 'callers is not an object'],
      [{ ...legacy, callers: { a: 0 } }, 'caller "a" has no positive count'],
      [{ ...legacy, unanswered: 'b' }, 'unanswered is not a list of caller IDs'],
      [{ ...legacy, unanswered: ['b', 3] }, 'unanswered is not a list of caller IDs'],
      [{ ...legacy, unanswered: [3] }, 'unanswered is not a list of caller IDs'],
    ])('refuses %j: %s', (data, problem) => {
      expect(parseMountRecord(data)).toBe(problem);
    });
  });
});

describe('mountRecordToJson', () => {
  it.each<[string, MountRecord]>([
    [
      'mounted, with pending and answered callers',
      {
        backing: 'mem',
        state: 'mounted',
        mountpoint: '/mnt/v',
        callers: new Map([
          ['c1', { count: 2, pending: 1, lastMountAt: 5 }],
          ['constructor', { count: 1, pending: 0, lastMountAt: 7 }],
        ]),
      },
    ],
    [
      'with the boot each caller was counted in',
      {
        backing: 'mem',
        state: 'mounted',
        mountpoint: '/mnt/v',
        callers: new Map([
          ['c1', { count: 1, pending: 1, lastMountAt: 5, boot: '3f1c2b9e-0d4a-4a57-9d7e-2a1b3c4d5e6f' }],
          ['c2', { count: 1, pending: 0, lastMountAt: 6 }],
        ]),
      },
    ],
    ['an intent without callers or mountpoint', { backing: 'mem', state: 'mounting', callers: NO_CALLERS }],
  ])('writes a record that reads back the same: %s', (_, record) => {
    expect(parseMountRecord(JSON.parse(JSON.stringify(mountRecordToJson(record))))).toEqual(record);
  });

  it('keeps caller IDs out of object keys, so __proto__ is written and read like any other', () => {
    const record: MountRecord = {
      backing: 'mem',
      state: 'mounted',
      callers: new Map([['__proto__', { count: 1, pending: 0, lastMountAt: 0 }]]),
    };
    const read = parseMountRecord(JSON.parse(JSON.stringify(mountRecordToJson(record)))) as MountRecord;
    expect([...read.callers.keys()]).toEqual(['__proto__']);
  });
});

describe('the ref of a mount record', () => {
  const record = {
    backing: 'ebs',
    state: 'mounted',
    mountpoint: '/mnt/v',
    callers: [{ id: 'c1', count: 1, at: 7 }],
  } as const;

  it('round-trips through the form on disk', () => {
    const parsed = parseMountRecord({ ...record, ref: 'vol-0123456789abcdef0' }) as MountRecord;
    expect(parsed.ref).toBe('vol-0123456789abcdef0');
    expect(mountRecordToJson(parsed)).toEqual({ ...record, ref: 'vol-0123456789abcdef0' });
    expect(parseMountRecord(JSON.parse(JSON.stringify(mountRecordToJson(parsed))))).toEqual(parsed);
  });

  it('reads a record of an older version, written without one, and writes none back', () => {
    const parsed = parseMountRecord(record) as MountRecord;
    expect(parsed).not.toHaveProperty('ref');
    expect(mountRecordToJson(parsed)).not.toHaveProperty('ref');
    expect(recordedHandle('v', parsed)).toEqual({ name: 'v' });
  });

  // Kept, not refused: the ref only spares the provider a lookup, while a refused record would cost what callers hold.
  it.each([
    ['a number', 42],
    ['empty', ''],
    ['too long', 'x'.repeat(MAX_VOLUME_REF_LENGTH + 1)],
    ['with a newline', 'vol-1\nstate: mounted'],
  ])('keeps the record and drops a ref that is %s', (_what, ref) => {
    const parsed = parseMountRecord({ ...record, ref });
    expect(typeof parsed).toBe('object');
    expect(parsed).not.toHaveProperty('ref');
    expect((parsed as MountRecord).callers.get('c1')?.count).toBe(1);
  });

  it('says what is wrong with a ref, and nothing for one at the limit', () => {
    expect(volumeRefProblem('x'.repeat(MAX_VOLUME_REF_LENGTH))).toBeUndefined();
    expect(volumeRefProblem('fsap-0abc/dir with spaces')).toBeUndefined();
    expect(volumeRefProblem('x'.repeat(MAX_VOLUME_REF_LENGTH + 1))).toBe(
      `longer than ${MAX_VOLUME_REF_LENGTH} characters`,
    );
    expect(volumeRefProblem('a\u0000b')).toBe('holds control characters');
    expect(volumeRefProblem('')).toBe('not a non-empty string');
    expect(volumeRefProblem(undefined)).toBe('not a non-empty string');
  });

  it('is handed back with the name', () => {
    expect(recordedHandle('v', parseMountRecord({ ...record, ref: 'r1' }) as MountRecord)).toEqual({
      name: 'v',
      ref: 'r1',
    });
    expect(recordedHandle('v', undefined)).toEqual({ name: 'v' });
  });
});
