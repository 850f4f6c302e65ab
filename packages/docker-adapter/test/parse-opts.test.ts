import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/cli/cli-context.js';
import { parseOpts } from '../src/cli/parse-opts.js';

describe('parseOpts', () => {
  it('splits each key=value at the first =, keeping empty values', () => {
    expect(parseOpts(['size=25', 'label=a=b', 'empty='])).toEqual({ size: '25', label: 'a=b', empty: '' });
  });

  it.each([
    [['size'], '--opt "size": expected key=value'],
    [['=25'], `--opt "=25": the key before '=' is empty`],
    [['size=1', 'size=2'], '--opt size: given more than once'],
  ])('refuses %j as a usage error', (values, message) => {
    expect(() => parseOpts(values)).toThrow(UsageError);
    expect(() => parseOpts(values)).toThrow(message);
  });
});
