import { describe, expect, it } from 'vitest';
import type { NodeFacts } from '../src/contract/node-facts.js';
import type { SizeOption } from '../src/contract/size-option.js';
import { ErrorKind } from '../src/errors/error-kind.js';
import { CountingProvider } from '../src/testing/counting-provider.js';
import { rejection, useEngineHarness } from './support/engine-harness.js';
import { MemoryProvider } from './support/memory-provider.js';

/** A zone-bound backing with a size in GiB whose bounds depend on a `tier` option, as an EBS volume type's do. */
class SizedProvider extends MemoryProvider {
  readonly size: SizeOption = {
    option: 'size',
    unitBytes: 2 ** 30,
    bounds: (options) => (options.tier === 'big' ? { min: 50, max: 100 } : undefined),
  };
  nodeFacts(): NodeFacts {
    return { nodeId: 'i-1', maxVolumes: 3, topology: { zone: 'z1' }, volumeTopology: ['zone'] };
  }
}

describe("VolumeEngine: the backings' size options and node facts, for adapters that speak in bytes and topology", () => {
  const h = useEngineHarness();

  it("resolves a backing's size option by name or alias, with the option spec's bounds where it gives none", async () => {
    const sized = new SizedProvider('disk', 'global', undefined, ['block']);
    const engine = await h.start({ providers: [new CountingProvider(sized), new MemoryProvider('dir')] });
    const size = engine.sizeOf('block');
    expect(size).toMatchObject({ option: 'size', unitBytes: 2 ** 30 });
    expect(size?.bounds({ tier: 'big' })).toEqual({ min: 50, max: 100 });
    // MemoryProvider's size option spec: 1 to 100.
    expect(size?.bounds({})).toEqual({ min: 1, max: 100 });
    expect(engine.sizeOf('dir')).toBeUndefined();
    // The default backing, the first one here.
    expect(engine.sizeOf(undefined)?.option).toBe('size');
    expect(
      (
        await rejection(
          Promise.resolve().then(() => engine.sizeOf('nope')),
          ErrorKind.InvalidArgument,
        )
      ).message,
    ).toMatch(/unknown backing "nope"/);
  });

  it('reports the node facts of the backings that tell any, named after their backing', async () => {
    const engine = await h.start({ providers: [new MemoryProvider('dir'), new SizedProvider('disk', 'global')] });
    expect(engine.nodeFacts()).toEqual([
      { backing: 'disk', nodeId: 'i-1', maxVolumes: 3, topology: { zone: 'z1' }, volumeTopology: ['zone'] },
    ]);
  });

  it('refuses node facts before the start, when no backing has learnt where it runs', async () => {
    const engine = h.create({ providers: [new SizedProvider('disk', 'global')] });
    await rejection(
      Promise.resolve().then(() => engine.nodeFacts()),
      ErrorKind.BackendFailure,
    );
  });
});
