import type { BackingSize, Volume } from '@stowage/core';
import type { CreateVolumeRequest__Output } from './generated/csi/v1/CreateVolumeRequest.js';
import { CsiError } from './csi-error.js';

type CapacityRange = CreateVolumeRequest__Output['capacity_range'];

/** A capacity range in bytes; `limit` 0 is "no limit", as in the proto. */
interface Range {
  readonly required: bigint;
  readonly limit: bigint;
}

/** The request's capacity range, checked for sense (INVALID_ARGUMENT), or undefined when it sets none. */
export function capacityRange(range: CapacityRange): Range | undefined {
  if (!range) return undefined;
  const required = BigInt(range.required_bytes || '0');
  const limit = BigInt(range.limit_bytes || '0');
  if (required < 0n || limit < 0n) throw CsiError.invalidArgument('capacity_range: bytes must not be negative');
  if (limit > 0n && limit < required) {
    throw CsiError.invalidArgument(`capacity_range: limit_bytes ${limit} is below required_bytes ${required}`);
  }
  return { required, limit };
}

const fits = (bytes: bigint, range: Range): boolean =>
  bytes >= range.required && (range.limit === 0n || bytes <= range.limit);

/**
 * The value of the backing's size option for a CreateVolume: the capacity range rounded up to whole units, at least
 * the backing's smallest size; the size of `existing` (the volume of that name, if there is one) when it is in the
 * range, so that a repeated create with a compatible range names the same volume. A `parameters` size, when given,
 * is taken as it is. Throws OUT_OF_RANGE for a range no size of the backing meets.
 */
export function sizeFor(
  range: Range | undefined,
  size: BackingSize,
  parameters: Readonly<Record<string, string>>,
  existing: Volume | undefined,
): string {
  const unit = BigInt(size.unitBytes);
  const within = (units: string | undefined): boolean =>
    units !== undefined && /^\d{1,15}$/.test(units) && (!range || fits(BigInt(units) * unit, range));
  const given = parameters[size.option];
  if (given !== undefined) {
    if (!within(given)) {
      throw CsiError.outOfRange(`capacity_range: parameter ${size.option}=${given} is outside it`);
    }
    return given;
  }
  const previous = existing?.options[size.option];
  if (within(previous)) return previous as string;
  const { min, max } = size.bounds(parameters);
  const required = range?.required ?? 0n;
  const rounded = (required + unit - 1n) / unit;
  const units = rounded > BigInt(min) ? rounded : BigInt(min);
  const bytes = units * unit;
  if (units > BigInt(max)) {
    throw CsiError.outOfRange(
      `capacity_range: ${required} bytes is more than the backing's largest volume of ${max} × ${unit} bytes`,
    );
  }
  if (range && range.limit > 0n && bytes > range.limit) {
    throw CsiError.outOfRange(
      `capacity_range: the smallest volume meeting it is ${bytes} bytes (${units} × ${unit}), above limit_bytes ${range.limit}`,
    );
  }
  return String(units);
}

/** A volume's capacity in bytes as CreateVolume and ListVolumes report it; 0, the spec's "unknown", without a size. */
export function capacityBytes(volume: Volume, size: BackingSize | undefined): string {
  const units = size === undefined ? undefined : volume.options[size.option];
  if (size === undefined || units === undefined || !/^\d{1,15}$/.test(units)) return '0';
  return String(BigInt(units) * BigInt(size.unitBytes));
}
