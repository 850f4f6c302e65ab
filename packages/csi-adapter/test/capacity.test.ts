import { status } from '@grpc/grpc-js';
import type { BackingSize, Volume } from '@stowage/core';
import { describe, expect, it } from 'vitest';
import { capacityBytes, capacityRange, sizeFor } from '../src/capacity.js';
import { expectCode } from './support/expect-code.js';

const GiB = 2n ** 30n;
/** EBS's declaration as the engine resolves it: GiB, 1 to 1024 for the default type, 125 up for st1. */
const size: BackingSize = {
  option: 'size',
  unitBytes: 2 ** 30,
  bounds: (options) => (options.ebstype === 'st1' ? { min: 125, max: 16_384 } : { min: 1, max: 1024 }),
};
const range = (required: bigint, limit = 0n) =>
  capacityRange({ required_bytes: String(required), limit_bytes: String(limit) });
const volume = (options: Record<string, string>): Volume => ({
  name: 'v',
  backing: 'ebs',
  scope: 'global',
  options,
  status: {},
});

describe('capacity ranges as a size option', () => {
  it('rounds the required bytes up to whole units', () => {
    expect(sizeFor(range(GiB), size, {}, undefined)).toBe('1');
    expect(sizeFor(range(GiB + 1n), size, {}, undefined)).toBe('2');
    expect(sizeFor(range(1n), size, {}, undefined)).toBe('1');
  });

  it("takes the backing's smallest size when the range asks for less or sets nothing", () => {
    expect(sizeFor(undefined, size, {}, undefined)).toBe('1');
    expect(sizeFor(range(0n, 200n * GiB), size, { ebstype: 'st1' }, undefined)).toBe('125');
  });

  it('answers OUT_OF_RANGE when the limit is below the rounded size, or the size is beyond the bounds', async () => {
    const run = async (f: () => string) => f();
    expect(
      await expectCode(
        run(() => sizeFor(range(GiB + 1n, GiB + 2n), size, {}, undefined)),
        status.OUT_OF_RANGE,
      ),
    ).toMatch(/above limit_bytes/);
    await expectCode(
      run(() => sizeFor(range(0n, 10n * GiB), size, { ebstype: 'st1' }, undefined)),
      status.OUT_OF_RANGE,
    );
    await expectCode(
      run(() => sizeFor(range(1025n * GiB), size, {}, undefined)),
      status.OUT_OF_RANGE,
    );
  });

  it("keeps an existing volume's size when it is in the range, so a compatible repeat names the same volume", () => {
    expect(sizeFor(range(GiB, 10n * GiB), size, {}, volume({ size: '5' }))).toBe('5');
    // Out of the range: the rounded size, which the engine then finds incompatible (ALREADY_EXISTS).
    expect(sizeFor(range(6n * GiB), size, {}, volume({ size: '5' }))).toBe('6');
  });

  it('takes a size given as a parameter when it meets the range, and refuses one that does not', async () => {
    expect(sizeFor(range(GiB), size, { size: '3' }, undefined)).toBe('3');
    expect(sizeFor(undefined, size, { size: '3' }, undefined)).toBe('3');
    await expectCode(
      Promise.resolve().then(() => sizeFor(range(4n * GiB), size, { size: '3' }, undefined)),
      status.OUT_OF_RANGE,
    );
  });

  it('refuses a range that makes no sense with INVALID_ARGUMENT', async () => {
    await expectCode(
      Promise.resolve().then(() => range(2n, 1n)),
      status.INVALID_ARGUMENT,
    );
    await expectCode(
      Promise.resolve().then(() => range(-1n)),
      status.INVALID_ARGUMENT,
    );
  });

  it('reports the capacity in bytes from the size option; 0, unknown, without one', () => {
    expect(capacityBytes(volume({ size: '16384' }), size)).toBe(String(16_384n * GiB));
    expect(capacityBytes(volume({ mode: '0755' }), undefined)).toBe('0');
    expect(capacityBytes(volume({}), size)).toBe('0');
  });
});
