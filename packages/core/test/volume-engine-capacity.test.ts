import { describe, expect, it } from 'vitest';
import { ErrorKind } from '../src/errors/error-kind.js';
import { StowageError } from '../src/errors/stowage-error.js';
import { rejection, useEngineHarness } from './support/engine-harness.js';
import { MemoryProvider } from './support/memory-provider.js';

/** A backing on storage of a known size (a local file system), whose free space the test sets. */
class MeasuredProvider extends MemoryProvider {
  free: number | Error = 5 * 1024 ** 3;
  asked = 0;

  async capacity(): Promise<number> {
    this.asked += 1;
    if (this.free instanceof Error) throw this.free;
    return this.free;
  }
}

describe('VolumeEngine capacity: the free bytes of the backings that can say', () => {
  const h = useEngineHarness();
  const start = async () => {
    const local = new MeasuredProvider('local', 'local', []);
    const efs = new MemoryProvider('efs', 'global', [], ['shared']);
    const engine = await h.start({ providers: [local, efs], defaultBacking: 'local' });
    return { engine, local, efs };
  };

  it("answers a measured backing's free bytes, asked anew each time, by name, alias or default", async () => {
    const { engine, local } = await start();
    expect(engine.measuresCapacity()).toBe(true);
    expect(engine.measuresCapacity('local')).toBe(true);
    expect(await engine.capacity()).toBe(5 * 1024 ** 3);
    local.free = 1234;
    expect(await engine.capacity('local')).toBe(1234);
    expect(local.asked).toBe(2);
  });

  it('answers undefined for a backing with no capacity (storage that grows with its volumes)', async () => {
    const { engine } = await start();
    expect(engine.measuresCapacity('shared')).toBe(false);
    expect(engine.measuresCapacity('efs')).toBe(false);
    expect(await engine.capacity('shared')).toBeUndefined();
  });

  it('refuses an unknown backing as InvalidArgument, naming the ones there are', async () => {
    const { engine } = await start();
    expect(() => engine.measuresCapacity('tape')).toThrow(/unknown backing "tape"; must be one of/);
    const error = await rejection(engine.capacity('tape'));
    expect(StowageError.is(error, ErrorKind.InvalidArgument)).toBe(true);
  });

  it("reports a provider's failure, or an answer that is not a number of bytes, as BackendFailure naming the backing", async () => {
    const { engine, local } = await start();
    local.free = new Error('statfs: EIO');
    const failed = await rejection(engine.capacity());
    expect(StowageError.is(failed, ErrorKind.BackendFailure)).toBe(true);
    expect((failed as Error).message).toBe('backing local: cannot tell its free capacity: statfs: EIO');
    for (const bad of [-1, 1.5, Number.NaN]) {
      local.free = bad;
      const refused = await rejection(engine.capacity());
      expect(StowageError.is(refused, ErrorKind.BackendFailure)).toBe(true);
      expect((refused as Error).message).toMatch(/^backing local: its capacity .* is not a number of bytes$/);
    }
  });
});
