import { describe, expect, it } from 'vitest';
import { ownershipOptions } from '../src/contract/ownership-options.js';
import { defineOptions } from '../src/contract/define-options.js';
import { parseOptions } from '../src/engine/option-parser.js';

describe('ownershipOptions', () => {
  const specs = defineOptions(ownershipOptions("the volume's directory", '0750'));

  it('defaults the mode and records one spelling per mode', () => {
    expect(parseOptions(specs, {}, 'backing=x')).toEqual({ mode: '0750' });
    expect(parseOptions(specs, { mode: '755', uid: '1000', gid: '0' }, 'backing=x')).toEqual({
      mode: '0755',
      uid: 1000,
      gid: 0,
    });
    expect(parseOptions(specs, { mode: '1777' }, 'backing=x').mode).toBe('1777');
  });

  it('refuses what chown and chmod cannot take', () => {
    expect(() => parseOptions(specs, { mode: '888' }, 'backing=x')).toThrow(
      'mode: must be an octal mode such as 755 or 0750, got "888"',
    );
    expect(() => parseOptions(specs, { uid: '-1' }, 'backing=x')).toThrow(
      'uid: must be between 0 and 4294967294, got -1',
    );
    expect(() => parseOptions(specs, { gid: '4294967295' }, 'backing=x')).toThrow(
      'gid: must be between 0 and 4294967294, got 4294967295',
    );
  });
});
