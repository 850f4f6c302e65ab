import { describe, expect, it } from 'vitest';
import { volumeEntry, volumeRecordProblem } from '../src/contract/volume-record.js';

describe('volumeRecordProblem', () => {
  const valid = { name: 'v1', createdAt: '2026-11-23T10:00:00.000Z', options: { mode: '0755' } };

  it('accepts a record of the volume it is read for', () => {
    expect(volumeRecordProblem(valid, 'v1')).toBeUndefined();
  });

  it.each([
    [[], 'not a JSON object'],
    [null, 'not a JSON object'],
    [{ ...valid, name: 'v2' }, 'names volume "v2", not "v1"'],
    [{ ...valid, createdAt: 'yesterday' }, 'createdAt is not a timestamp'],
    [{ ...valid, options: ['a'] }, 'options is not an object'],
    [{ ...valid, options: { size: 3 } }, 'option "size" is not a string'],
  ])('refuses %j: %s', (data, problem) => {
    expect(volumeRecordProblem(data, 'v1')).toBe(problem);
  });
});

describe('volumeEntry', () => {
  it.each(['v1', 'a..b', 'x'.repeat(200)])('passes %j through', (name) => {
    expect(volumeEntry(name)).toBe(name);
  });

  it.each(['', '.', '..', '.hidden', '../etc', 'a/b', '/abs', 'a\0b'])('refuses %j', (name) => {
    expect(() => volumeEntry(name)).toThrow('it would leave the volume root');
  });
});
