import { ErrorKind, StowageError, parseOptions } from '@stowage/core';
import { describe, expect, it } from 'vitest';
import { EBS_SETTINGS, EBS_SIZE, OPTION_TAG_PREFIX, ebsCreateOptions, validateEbsRequest } from '../src/index.js';
import { optionsFromTags } from '../src/cluster-tags.js';

const specs = ebsCreateOptions('ext4');

/** Parses and cross-checks raw options as the engine does; returns the parsed values or the error message. */
function check(raw: Record<string, string>): Record<string, unknown> | string {
  try {
    const options = parseOptions(specs, raw, 'backing=relocatable');
    validateEbsRequest({ name: 'v', options });
    return options;
  } catch (error) {
    expect(StowageError.is(error, ErrorKind.InvalidArgument), String(error)).toBe(true);
    return (error as Error).message;
  }
}

describe('create options', () => {
  it('needs only size, defaulting to standard (magnetic), unencrypted, ext4', () => {
    expect(check({ size: '25' })).toEqual({ size: 25, ebstype: 'standard', encrypted: false, fstype: 'ext4' });
    expect(check({})).toMatch(/size: required for backing=relocatable/);
  });

  it('records the driver fsType setting as the default fstype', () => {
    expect(parseOptions(ebsCreateOptions('xfs'), { size: '1' }, 'x')).toMatchObject({ fstype: 'xfs' });
  });

  it.each([
    [{ size: '25', ebstype: 'io1' }, /iops: required for ebstype=io1/],
    [{ size: '25', ebstype: 'io2' }, /iops: required for ebstype=io2/],
    [{ size: '25', ebstype: 'gp2', iops: '300' }, /iops: only allowed when ebstype is io1 or io2 or gp3 \(it is gp2\)/],
    [{ size: '25', iops: '300' }, /iops: only allowed .* \(it is standard\)/],
    [{ size: '25', ebstype: 'io1', throughput: '200', iops: '100' }, /throughput: only allowed when ebstype is gp3/],
    [{ size: '25', kmskeyid: 'alias/k' }, /kmskeyid: only allowed when encrypted is true/],
    [{ size: '25', encrypted: 'false', kmskeyid: 'alias/k' }, /kmskeyid: only allowed when encrypted is true/],
    [{ size: '25', snapshot: 'snap-123' }, /snapshot: must be an EBS snapshot id/],
    [{ size: '25', fstype: 'btrfs' }, /fstype: must be one of ext4, xfs/],
    [{ size: '0' }, /size: must be between 1 and 65536/],
    [{ size: '1025' }, /size: must be between 1 and 1024 GiB for ebstype=standard, got 1025/],
    [{ size: '100', ebstype: 'st1' }, /size: must be between 125 and 16384 GiB for ebstype=st1/],
    [{ size: '2', ebstype: 'io1', iops: '100' }, /size: must be between 4 and 16384 GiB for ebstype=io1/],
    [
      { size: '10', ebstype: 'io1', iops: '1000' },
      /iops: at most 50 per GiB for ebstype=io1, so at most 500 for size=10; got 1000/,
    ],
    [{ size: '2000', ebstype: 'io1', iops: '70000' }, /iops: must be between 100 and 64000 for ebstype=io1/],
    [{ size: '100', ebstype: 'gp3', iops: '2000' }, /iops: must be between 3000 and 16000 for ebstype=gp3/],
    [
      { size: '100', ebstype: 'gp3', throughput: '1000' },
      /throughput: at most 0.25 MiB\/s per IOPS, so at most 750 with 3000 IOPS/,
    ],
    [{ size: '100', ebstype: 'gp3', throughput: '100' }, /throughput: must be between 125 and 1000/],
  ])('refuses %j before any API call', (raw, message) => {
    expect(check(raw)).toMatch(message);
  });

  it.each([
    [{ size: '25', ebstype: 'io1', iops: '1000' }],
    [{ size: '25', ebstype: 'gp3' }],
    [{ size: '100', ebstype: 'gp3', iops: '16000', throughput: '1000' }],
    [{ size: '125', ebstype: 'sc1' }],
    [{ size: '64000', ebstype: 'io2', iops: '256000' }],
    [
      {
        size: '1',
        encrypted: 'true',
        kmskeyid: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      },
    ],
  ])('accepts %j', (raw) => {
    expect(typeof check(raw)).toBe('object');
  });

  it('reports every problem of one request at once', () => {
    expect(check({ size: '2', ebstype: 'io1', iops: '5000' })).toMatch(/size: .*; iops: at most 50 per GiB/);
  });

  it('normalises a snapshot id to lower case, so both spellings record one value', () => {
    expect(check({ size: '1', snapshot: 'SNAP-0123456789ABCDEF0' })).toMatchObject({
      snapshot: 'snap-0123456789abcdef0',
    });
  });
});

describe('the size declaration', () => {
  it('is the size option in GiB, bounded by the volume type, standard when none is given', () => {
    expect(EBS_SIZE).toMatchObject({ option: 'size', unitBytes: 1024 ** 3 });
    expect(EBS_SIZE.bounds?.({})).toEqual({ min: 1, max: 1024 });
    expect(EBS_SIZE.bounds?.({ ebstype: 'st1' })).toEqual({ min: 125, max: 16_384 });
    expect(EBS_SIZE.bounds?.({ ebstype: 'io2' })).toEqual({ min: 4, max: 65_536 });
    // A type the create refuses anyway has no bounds of its own: the option spec's apply.
    expect(EBS_SIZE.bounds?.({ ebstype: 'toString' })).toBeUndefined();
  });

  it('names an integer option the driver declares', () => {
    expect(specs.find((o) => o.name === EBS_SIZE.option)?.type).toBe('integer');
  });
});

describe('driver settings', () => {
  it('requires clusterId and defaults the rest', () => {
    expect(() => parseOptions(EBS_SETTINGS, {}, 'driver ebs')).toThrow(/clusterId: required for driver ebs/);
    expect(parseOptions(EBS_SETTINGS, { clusterId: 'c' }, 'driver ebs')).toEqual({
      clusterId: 'c',
      deviceDir: '/dev/disk/by-id',
      sysfsRoot: '/sys',
      attachLimit: 25,
      fsType: 'ext4',
      takeover: 'stopped',
      moveWaitSeconds: 75,
      snapshotIntervalMinutes: 0,
      snapshotRetain: 3,
    });
  });

  it('bounds the snapshot interval to a week and keeps at least one snapshot', () => {
    expect(
      parseOptions(
        EBS_SETTINGS,
        { clusterId: 'c', snapshotIntervalMinutes: '10080', snapshotRetain: '100' },
        'driver ebs',
      ),
    ).toMatchObject({
      snapshotIntervalMinutes: 10080,
      snapshotRetain: 100,
    });
    expect(() =>
      parseOptions(EBS_SETTINGS, { clusterId: 'c', snapshotIntervalMinutes: '10081' }, 'driver ebs'),
    ).toThrow(/snapshotIntervalMinutes/);
    expect(() => parseOptions(EBS_SETTINGS, { clusterId: 'c', snapshotIntervalMinutes: '-1' }, 'driver ebs')).toThrow(
      /snapshotIntervalMinutes/,
    );
    expect(() => parseOptions(EBS_SETTINGS, { clusterId: 'c', snapshotRetain: '0' }, 'driver ebs')).toThrow(
      /snapshotRetain/,
    );
  });

  it('refuses malformed identities and relative paths', () => {
    expect(() =>
      parseOptions(
        EBS_SETTINGS,
        { clusterId: 'c', instanceId: 'box-1', availabilityZone: 'east', deviceDir: 'dev' },
        'driver ebs',
      ),
    ).toThrow(
      /instanceId: must be an EC2 instance id.*availabilityZone: must be an availability zone.*deviceDir: must be an absolute path/,
    );
  });
});

describe('keys that are Object.prototype members', () => {
  it.each(['toString', 'constructor', '__proto__', 'hasOwnProperty'])(
    'refuses ebstype=%s as an unknown type instead of reading the prototype',
    (ebstype) => {
      const error = (() => {
        try {
          validateEbsRequest({ name: 'v', options: { size: 1, ebstype } });
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(StowageError.is(error, ErrorKind.InvalidArgument), String(error)).toBe(true);
      expect((error as Error).message).toMatch(/^ebstype: must be one of gp2, gp3, io1, io2, st1, sc1, standard/);
    },
  );

  it('reads option tags named __proto__, constructor and toString as plain options, and no option from the prototype', () => {
    const options = optionsFromTags([
      { Key: `${OPTION_TAG_PREFIX}__proto__`, Value: 'a' },
      { Key: `${OPTION_TAG_PREFIX}constructor`, Value: 'b' },
      { Key: `${OPTION_TAG_PREFIX}toString`, Value: 'c' },
      { Key: `${OPTION_TAG_PREFIX}size`, Value: '1' },
    ]);
    expect(Object.entries(options)).toEqual([
      ['__proto__', 'a'],
      ['constructor', 'b'],
      ['toString', 'c'],
      ['size', '1'],
    ]);
    expect(options.valueOf).toBeUndefined();
    expect(options.hasOwnProperty).toBeUndefined();
    expect(JSON.parse(JSON.stringify(options))).toEqual({
      ['__proto__']: 'a',
      constructor: 'b',
      toString: 'c',
      size: '1',
    });
  });
});
