import { describe, expect, it } from 'vitest';
import { isVolumeName, MAX_VOLUME_NAME_LENGTH, validateVolumeName } from '../src/engine/volume-name.js';

describe('validateVolumeName', () => {
  it.each(['v1', 'a', 'db.data-1_x', 'ping3-1-vol', '9lives', 'x'.repeat(MAX_VOLUME_NAME_LENGTH)])(
    'accepts %j',
    (name) => {
      expect(() => validateVolumeName(name)).not.toThrow();
    },
  );

  it.each([
    ['', 'volume name is required'],
    ['..', 'invalid volume name ".."'],
    ['.', 'invalid volume name "."'],
    ['../../etc', 'invalid volume name "../../etc"'],
    ['a/b', 'invalid volume name "a/b"'],
    ['-rf', 'invalid volume name "-rf"'],
    ['a b', 'invalid volume name "a b"'],
    ['a\u0000b', 'invalid volume name "a\\u0000b"'],
    ['tab\there', 'invalid volume name "tab\\there"'],
    ['émile', 'invalid volume name "émile"'],
    ['x'.repeat(MAX_VOLUME_NAME_LENGTH + 1), 'volume name is 201 characters long; at most 200 are allowed'],
  ])('refuses %j', (name, message) => {
    expect(() => validateVolumeName(name)).toThrow(message);
  });

  it('refuses non-strings', () => {
    expect(() => validateVolumeName(42)).toThrow('volume name is required');
    expect(() => validateVolumeName(undefined)).toThrow('volume name is required');
  });
});

describe('isVolumeName', () => {
  it('answers what validateVolumeName would accept, without throwing', () => {
    expect(isVolumeName('data-1.v_2')).toBe(true);
    expect(isVolumeName('x'.repeat(MAX_VOLUME_NAME_LENGTH))).toBe(true);
    for (const bad of ['', '..', '.hidden', 'a/b', 'fake vol', 'x'.repeat(MAX_VOLUME_NAME_LENGTH + 1)]) {
      expect(isVolumeName(bad), bad).toBe(false);
    }
  });
});
