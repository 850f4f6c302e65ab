import { describe, expect, it } from 'vitest';
import { KeyedMutex } from '../src/engine/keyed-mutex.js';

/** A promise the test resolves when it chooses. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open: () => void = () => undefined;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/** Lets every promise callback that can run, run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('KeyedMutex', () => {
  it('runs work on one key one at a time, in arrival order, even when newcomers arrive while others wait', async () => {
    const mutex = new KeyedMutex();
    const gates = [gate(), gate(), gate(), gate()];
    const order: string[] = [];
    let running = 0;
    let most = 0;
    const work = (i: number) => async (): Promise<number> => {
      running += 1;
      most = Math.max(most, running);
      order.push(`start ${i}`);
      await gates[i]?.promise;
      order.push(`end ${i}`);
      running -= 1;
      return i;
    };

    const first = [0, 1, 2].map((i) => mutex.run('v', work(i)));
    await settle();
    expect(order).toEqual(['start 0']);
    gates[0]?.open();
    await first[0];
    await settle();
    // One finished, two were waiting; a fourth arrives while the second runs and the third still waits.
    const fourth = mutex.run('v', work(3));
    await settle();
    expect(order).toEqual(['start 0', 'end 0', 'start 1']);
    for (const g of gates) g.open();
    expect(await Promise.all([...first, fourth])).toEqual([0, 1, 2, 3]);
    expect(most).toBe(1);
    expect(order).toEqual(['start 0', 'end 0', 'start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3']);
  });

  it('runs work on different keys at the same time', async () => {
    const mutex = new KeyedMutex();
    const blocked = gate();
    const a = mutex.run('a', () => blocked.promise.then(() => 'a'));
    expect(await mutex.run('b', async () => 'b')).toBe('b');
    blocked.open();
    expect(await a).toBe('a');
  });

  it('keeps a key only while someone holds or waits for it, failures included', async () => {
    const mutex = new KeyedMutex();
    expect(mutex.activeKeys).toBe(0);
    const blocked = gate();
    const held = mutex.run('a', () => blocked.promise);
    const waiting = mutex.run('a', async () => {
      throw new Error('work failed');
    });
    const other = mutex.run('b', () => blocked.promise);
    expect(mutex.activeKeys).toBe(2);
    blocked.open();
    await held;
    await expect(waiting).rejects.toThrow('work failed');
    await other;
    expect(mutex.activeKeys).toBe(0);
    // Many volumes seen over time cost nothing once idle.
    for (let i = 0; i < 100; i += 1) await mutex.run(`v${i}`, async () => undefined);
    expect(mutex.activeKeys).toBe(0);
  });
});
