import { describe, expect, it } from 'vitest';
import type { OptionSpec } from '../src/contract/option-spec.js';
import { formatOptionValues, parseOptions } from '../src/engine/option-parser.js';
import { ErrorKind } from '../src/errors/error-kind.js';
import { StowageError } from '../src/errors/stowage-error.js';

// Shaped like the relocatable backing's options, the hardest schema the seeds describe.
const ebsLike: OptionSpec[] = [
  { name: 'size', type: 'integer', description: 'GiB', required: true, min: 1, max: 16384 },
  {
    name: 'ebstype',
    type: 'string',
    description: 'type',
    values: ['gp2', 'gp3', 'io1', 'standard'],
    default: 'standard',
  },
  {
    name: 'iops',
    type: 'integer',
    description: 'IOPS',
    required: { option: 'ebstype', oneOf: ['io1'] },
    allowedOnlyWhen: { option: 'ebstype', oneOf: ['io1', 'gp3'] },
  },
  { name: 'encrypted', type: 'boolean', description: 'encrypt', default: false },
  {
    name: 'mode',
    type: 'string',
    description: 'mode',
    pattern: /0?[0-7]{3}/,
    patternHint: 'an octal mode such as 0755',
    normalize: (v) => v.padStart(4, '0'),
  },
];

function problem(raw: Record<string, unknown>): string {
  try {
    parseOptions(ebsLike, raw, 'backing=relocatable');
  } catch (error) {
    expect(StowageError.is(error, ErrorKind.InvalidArgument)).toBe(true);
    return (error as Error).message;
  }
  throw new Error('expected the options to be refused');
}

describe('parseOptions', () => {
  it('parses typed values and fills defaults', () => {
    const values = parseOptions(
      ebsLike,
      { size: '25', ebstype: 'io1', iops: '1000', encrypted: 'yes' },
      'backing=relocatable',
    );
    expect(values).toEqual({ size: 25, ebstype: 'io1', iops: 1000, encrypted: true });
    expect(formatOptionValues(values)).toEqual({ size: '25', ebstype: 'io1', iops: '1000', encrypted: 'true' });
  });

  it('names the backing for a missing required option', () => {
    expect(problem({})).toBe('size: required for backing=relocatable');
  });

  it('requires an option when its condition holds', () => {
    expect(problem({ size: '25', ebstype: 'io1' })).toBe('iops: required for ebstype=io1');
  });

  it('refuses an option outside the values its condition allows, evaluated after defaults', () => {
    expect(problem({ size: '25', iops: '100' })).toBe('iops: only allowed when ebstype is io1 or gp3 (it is standard)');
  });

  it('lists the allowed values', () => {
    expect(problem({ size: '1', ebstype: 'floppy' })).toBe(
      'ebstype: must be one of gp2, gp3, io1, standard, got "floppy"',
    );
  });

  it('checks integer syntax and range', () => {
    expect(problem({ size: '1;rm -rf /' })).toBe('size: must be a whole number, got "1;rm -rf /"');
    expect(problem({ size: '0' })).toBe('size: must be between 1 and 16384, got 0');
    expect(problem({ size: '1e3' })).toBe('size: must be a whole number, got "1e3"');
  });

  it('checks booleans and whole-string patterns', () => {
    expect(problem({ size: '1', encrypted: 'maybe' })).toBe('encrypted: must be true or false, got "maybe"');
    expect(problem({ size: '1', mode: '07555' })).toBe('mode: must be an octal mode such as 0755, got "07555"');
    expect(parseOptions(ebsLike, { size: '1', mode: '0750' }, 's').mode).toBe('0750');
    expect(parseOptions(ebsLike, { size: '1', mode: '750' }, 's').mode).toBe('0750');
  });

  it('refuses control characters, over-long values and non-scalar values', () => {
    expect(problem({ size: '1', ebstype: 'gp2\nx' })).toBe('ebstype: must not contain control characters');
    expect(problem({ size: '1', mode: '7'.repeat(2000) })).toBe(
      'mode: value is too long (2000 characters, at most 1024)',
    );
    expect(problem({ size: { $gt: 1 } })).toBe('size: must be an integer, got an object');
  });

  it('reports unknown options with the known ones', () => {
    expect(problem({ size: '1', sise: '2' })).toBe(
      'unknown option "sise" for backing=relocatable (known options: size, ebstype, iops, encrypted, mode)',
    );
  });

  it('refuses options named after Object.prototype members as unknown, and reads nothing inherited', () => {
    const raw = JSON.parse(
      '{ "size": "1", "__proto__": { "ebstype": "io1" }, "constructor": "x", "toString": "y" }',
    ) as Record<string, unknown>;
    expect(problem(raw)).toBe(
      ['__proto__', 'constructor', 'toString']
        .map(
          (name) =>
            `unknown option "${name}" for backing=relocatable (known options: size, ebstype, iops, encrypted, mode)`,
        )
        .join('; '),
    );
    const inherited = Object.create({ ebstype: 'io1', iops: '100' }) as Record<string, unknown>;
    inherited.size = '1';
    expect(parseOptions(ebsLike, inherited, 's')).toEqual({ size: 1, ebstype: 'standard', encrypted: false });
  });

  it('treats an empty value as absent', () => {
    expect(parseOptions(ebsLike, { size: '3', ebstype: '' }, 's')).toEqual({
      size: 3,
      ebstype: 'standard',
      encrypted: false,
    });
  });

  it('reads every spelling of true and false, in any case', () => {
    const flag: OptionSpec[] = [{ name: 'on', type: 'boolean', description: 'flag' }];
    for (const word of ['true', '1', 'yes', 'on', 'TRUE', 'Yes'])
      expect(parseOptions(flag, { on: word }, 's')).toEqual({ on: true });
    for (const word of ['false', '0', 'no', 'off', 'FALSE', 'Off'])
      expect(parseOptions(flag, { on: word }, 's')).toEqual({ on: false });
  });

  it('takes numbers and booleans as JSON config gives them', () => {
    expect(parseOptions(ebsLike, { size: 25, encrypted: true, mode: 750 }, 's')).toEqual({
      size: 25,
      ebstype: 'standard',
      encrypted: true,
      mode: '0750',
    });
    expect(parseOptions(ebsLike, { size: '2', encrypted: false }, 's')).toEqual({
      size: 2,
      ebstype: 'standard',
      encrypted: false,
    });
  });

  it('names what came instead of a scalar, with the article the type takes', () => {
    expect(problem({ size: null })).toBe('size: must be an integer, got null');
    expect(problem({ size: '1', encrypted: ['true'] })).toBe('encrypted: must be a boolean, got a list');
    expect(problem({ size: '1', ebstype: { gp2: true } })).toBe('ebstype: must be a string, got an object');
    expect(problem({ size: 10n })).toBe('size: must be an integer, got bigint');
  });

  it('accepts a value of exactly the longest length', () => {
    const free: OptionSpec[] = [{ name: 'label', type: 'string', description: 'label' }];
    expect(parseOptions(free, { label: 'x'.repeat(1024) }, 's')).toEqual({ label: 'x'.repeat(1024) });
  });

  it('accepts both ends of a range and describes one-sided ranges', () => {
    expect(parseOptions(ebsLike, { size: '16384' }, 's').size).toBe(16384);
    expect(parseOptions(ebsLike, { size: '1' }, 's').size).toBe(1);
    expect(problem({ size: '16385' })).toBe('size: must be between 1 and 16384, got 16385');
    const oneSided: OptionSpec[] = [
      { name: 'floor', type: 'integer', description: 'at least 3', min: 3 },
      { name: 'ceiling', type: 'integer', description: 'at most 9', max: 9 },
    ];
    expect(parseOptions(oneSided, { floor: '3', ceiling: '9' }, 's')).toEqual({ floor: 3, ceiling: 9 });
    expect(() => parseOptions(oneSided, { floor: '2', ceiling: '10' }, 's')).toThrow(
      'floor: must be at least 3, got 2; ceiling: must be at most 9, got 10',
    );
  });

  it('never echoes a secret value, whatever is wrong with it', () => {
    const secrets: OptionSpec[] = [
      { name: 'token', type: 'string', description: 'token', secret: true, pattern: /[a-z]+/ },
      { name: 'pin', type: 'integer', description: 'pin', secret: true, max: 9999 },
    ];
    const error = (() => {
      try {
        parseOptions(secrets, { token: 'S3CRET', pin: '123456' }, 's');
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    })();
    expect(error).toBe(
      'token: must be of the form [a-z]+, got a secret value (not shown); pin: must be at most 9999, got a secret value (not shown)',
    );
    expect(() => parseOptions(secrets, { pin: 'one' }, 's')).toThrow(
      'pin: must be a whole number, got a secret value (not shown)',
    );
  });

  it('describes a pattern by its hint, or by the pattern itself, and matches it whole even when it is global', () => {
    const specs: OptionSpec[] = [{ name: 'tag', type: 'string', description: 'tag', pattern: /[a-z]+-\d/g }];
    expect(parseOptions(specs, { tag: 'abc-1' }, 's')).toEqual({ tag: 'abc-1' });
    expect(parseOptions(specs, { tag: 'abc-2' }, 's')).toEqual({ tag: 'abc-2' });
    expect(() => parseOptions(specs, { tag: 'ABC' }, 's')).toThrow('tag: must be of the form [a-z]+-\\d, got "ABC"');
    expect(() => parseOptions(specs, { tag: 'x abc-1' }, 's')).toThrow('tag: must be of the form');
    expect(problem({ size: '1', mode: 'rwx' })).toBe('mode: must be an octal mode such as 0755, got "rwx"');
  });

  it('says so when a backing takes no options at all', () => {
    expect(() => parseOptions([], { size: '1' }, 'backing=local')).toThrow(
      'unknown option "size" for backing=local (known options: none)',
    );
  });

  it('says when the option a condition depends on is not set', () => {
    const specs: OptionSpec[] = [
      { name: 'kind', type: 'string', description: 'kind' },
      { name: 'iops', type: 'integer', description: 'IOPS', allowedOnlyWhen: { option: 'kind', oneOf: ['io1'] } },
    ];
    expect(() => parseOptions(specs, { iops: '100' }, 's')).toThrow(
      'iops: only allowed when kind is io1 (it is not set)',
    );
    expect(parseOptions(specs, { kind: 'io1', iops: '100' }, 's')).toEqual({ kind: 'io1', iops: 100 });
  });
});
