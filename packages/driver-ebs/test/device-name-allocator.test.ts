import { ErrorKind, StowageError } from '@stowage/core';
import { describe, expect, it } from 'vitest';
import { DEVICE_NAMES, DeviceNameAllocator } from '../src/device-name-allocator.js';

const attached =
  (...devices: string[]) =>
  async () => ({ devices });

describe('DeviceNameAllocator', () => {
  it('picks the first name EC2 does not show in use, counting sdX and xvdX as one slot', async () => {
    const allocator = new DeviceNameAllocator(25);
    const reservation = await allocator.reserve(attached('/dev/xvda', '/dev/sdf', '/dev/xvdg'));
    expect(reservation.device).toBe('/dev/xvdh');
  });

  it('never gives one name to two attaches in flight, and frees it on release', async () => {
    const allocator = new DeviceNameAllocator(25);
    const [a, b, c] = await Promise.all([1, 2, 3].map(() => allocator.reserve(attached())));
    expect(new Set([a?.device, b?.device, c?.device]).size).toBe(3);
    a?.release();
    a?.release();
    expect((await allocator.reserve(attached())).device).toBe('/dev/xvdf');
  });

  it('skips a name EC2 refused until the avoid period is over', async () => {
    let now = 0;
    const allocator = new DeviceNameAllocator(25, 1000, () => now);
    const first = await allocator.reserve(attached());
    first.release();
    allocator.avoid(first.device);
    expect((await allocator.reserve(attached())).device).toBe('/dev/xvdg');
    now = 1000;
    expect((await allocator.reserve(attached())).device).toBe('/dev/xvdf');
  });

  it('refuses past the attach limit, counting every attachment and reservation', async () => {
    const allocator = new DeviceNameAllocator(3);
    await allocator.reserve(attached('/dev/xvda'));
    const error = await allocator.reserve(attached('/dev/xvda', '/dev/xvdz')).catch((e: unknown) => e);
    // LimitReached, not BackendFailure: an orchestrator places the volume on another node instead of retrying here.
    expect(StowageError.is(error, ErrorKind.LimitReached)).toBe(true);
    expect((error as Error).message).toMatch(/attachLimit of 3/);
  });

  it('says so when every name is taken', async () => {
    const allocator = new DeviceNameAllocator(100);
    const error = await allocator.reserve(attached(...DEVICE_NAMES)).catch((e: unknown) => e);
    expect(StowageError.is(error, ErrorKind.LimitReached)).toBe(true);
    expect((error as Error).message).toMatch(/no free device name/);
  });
});
