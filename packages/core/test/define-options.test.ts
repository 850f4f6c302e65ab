import { describe, expect, expectTypeOf, it } from 'vitest';
import { defineOptions, type InferOptions } from '../src/contract/define-options.js';
import { ownershipOptions } from '../src/contract/ownership-options.js';
import type { OptionSpec, OptionValues } from '../src/contract/option-spec.js';
import { parseOptions } from '../src/engine/option-parser.js';

const EBS_TYPES = ['gp2', 'gp3', 'io1'] as const;

// A declaration shaped like the relocatable backing's: conditions, a literal-typed enum, normalize.
const options = defineOptions({
  size: { type: 'integer', description: 'size in GiB', required: true, min: 1, max: 16_384 },
  ebstype: { type: 'string', description: 'volume type', values: EBS_TYPES, default: 'gp2' },
  iops: {
    type: 'integer',
    description: 'provisioned IOPS',
    required: { option: 'ebstype', oneOf: ['io1'] },
    allowedOnlyWhen: { option: 'ebstype', oneOf: ['io1', 'gp3'] },
  },
  encrypted: { type: 'boolean', description: 'encrypt at rest', default: false },
  snapshot: {
    type: 'string',
    description: 'source snapshot',
    pattern: /snap-[0-9a-f]+/i,
    patternHint: 'a snapshot id',
    normalize: (id) => id.toLowerCase(),
  },
});

describe('defineOptions: the inferred types', () => {
  it('makes defaulted and required options present, the rest optional, and values narrow a string', () => {
    expectTypeOf<InferOptions<typeof options>>().toEqualTypeOf<{
      readonly size: number;
      readonly ebstype: 'gp2' | 'gp3' | 'io1';
      readonly encrypted: boolean;
      readonly iops?: number;
      readonly snapshot?: string;
    }>();
  });

  it('infers literal values written inline, with no `as const`', () => {
    const inline = defineOptions({
      perfmode: { type: 'string', description: 'mode', values: ['generalpurpose', 'maxio'], default: 'maxio' },
    });
    expectTypeOf<InferOptions<typeof inline>>().toEqualTypeOf<{ readonly perfmode: 'generalpurpose' | 'maxio' }>();
    expect(inline.map((spec) => spec.name)).toEqual(['perfmode']);
  });

  it('types what parseOptions returns, and spreads shared declarations with their types', () => {
    const posix = defineOptions({
      ...ownershipOptions('the directory'),
      adopt: { type: 'boolean', description: 'adopt it' },
    });
    expectTypeOf(parseOptions(posix, {}, 'backing=x')).toEqualTypeOf<{
      readonly mode: string;
      readonly uid?: number;
      readonly gid?: number;
      readonly adopt?: boolean;
    }>();
  });

  it('gives untyped values for plain OptionSpec arrays, as before', () => {
    const plain: readonly OptionSpec[] = [];
    expectTypeOf(parseOptions(plain, {}, 'x')).toEqualTypeOf<OptionValues>();
    expectTypeOf<InferOptions<readonly OptionSpec[]>>().toEqualTypeOf<OptionValues>();
  });

  it('refuses at compile time a default of the wrong type, a condition on an undeclared option and string fields on an integer', () => {
    // Never called: the compiler's refusals are the test (`pnpm typecheck`); run time has its own checks below.
    const declarations = () => [
      // @ts-expect-error a number option with a string default
      defineOptions({ size: { type: 'integer', description: 'd', default: '1' } }),
      // @ts-expect-error the condition names no declared option
      defineOptions({ iops: { type: 'integer', description: 'd', required: { option: 'ebstipe', oneOf: ['io1'] } } }),
      // @ts-expect-error values belong to string options
      defineOptions({ size: { type: 'integer', description: 'd', values: ['1'] } }),
    ];
    expectTypeOf(declarations).toBeFunction();
  });
});

describe('defineOptions: the specs at run time', () => {
  it('turns each key into a named spec, in declaration order, keeping every field', () => {
    expect(options.map((spec) => spec.name)).toEqual(['size', 'ebstype', 'iops', 'encrypted', 'snapshot']);
    expect(options[1]).toEqual({
      name: 'ebstype',
      type: 'string',
      description: 'volume type',
      values: EBS_TYPES,
      default: 'gp2',
    });
  });

  it('keeps every message of the option parser', () => {
    expect(() => parseOptions(options, {}, 'backing=relocatable')).toThrow('size: required for backing=relocatable');
    expect(() => parseOptions(options, { size: '1', ebstype: 'st1' }, 'backing=x')).toThrow(
      'ebstype: must be one of gp2, gp3, io1, got "st1"',
    );
    expect(() => parseOptions(options, { size: '4', ebstype: 'io1' }, 'backing=x')).toThrow(
      'iops: required for ebstype=io1',
    );
    expect(() => parseOptions(options, { size: '4', iops: '100' }, 'backing=x')).toThrow(
      'iops: only allowed when ebstype is io1 or gp3 (it is gp2)',
    );
    expect(() => parseOptions(options, { size: '4', sise: '1' }, 'backing=x')).toThrow(
      /unknown option "sise" for backing=x/,
    );
  });

  it('applies defaults and normalize, so the recorded options compare equal however the user wrote them', () => {
    expect(parseOptions(options, { size: '4', snapshot: 'SNAP-0A' }, 'backing=x')).toEqual({
      size: 4,
      ebstype: 'gp2',
      encrypted: false,
      snapshot: 'snap-0a',
    });
  });

  it('refuses, when the driver is loaded, a default that its own option would refuse', () => {
    expect(() => defineOptions({ t: { type: 'string', description: 'd', values: ['a', 'b'], default: 'c' } })).toThrow(
      'option "t" is declared wrong: its default "c" is not one of a, b',
    );
    expect(() => defineOptions({ n: { type: 'integer', description: 'd', min: 16, default: 8 } })).toThrow(
      /its default 8 is out of its bounds/,
    );
    expect(() => defineOptions({ n: { type: 'integer', description: 'd', required: true, default: 8 } })).toThrow(
      /always required/,
    );
  });

  it('refuses a condition on an option that is not declared, for callers without the types', () => {
    const untyped = {
      iops: { type: 'integer', description: 'd', required: { option: 'ebstipe', oneOf: ['io1'] } },
    } as never;
    expect(() => defineOptions(untyped)).toThrow(
      'option "iops" is declared wrong: its condition names option "ebstipe", which is not declared',
    );
  });
});
