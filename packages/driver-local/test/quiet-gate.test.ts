import { describe, expect, it } from 'vitest';
import { QuietGate } from '../src/quiet-gate.js';

/** Whether `promise` is still pending after the event loop has turned `turns` times. */
async function pendingAfter(promise: Promise<unknown>, turns = 20): Promise<boolean> {
  let settled = false;
  void promise.then(() => (settled = true));
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
  return !settled;
}

const HOUR = 3_600_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('QuietGate', () => {
  it('holds a wait while a call is under way, and lets it go once the calls have been silent long enough', async () => {
    const gate = new QuietGate({ quietMs: 20, maxWaitMs: HOUR });
    gate.begin();
    const wait = gate.wait();
    // Longer than the quiet period, but a call is under way all along.
    await sleep(60);
    expect(await pendingAfter(wait.done)).toBe(true);
    gate.done();
    expect(await wait.done).toBe('quiet');
  });

  it('restarts the quiet period with every call', async () => {
    const gate = new QuietGate({ quietMs: 200, maxWaitMs: HOUR });
    gate.begin();
    gate.done();
    const wait = gate.wait();
    let lastCall = performance.now();
    for (let i = 0; i < 5; i++) {
      await sleep(50);
      gate.begin();
      gate.done();
      lastCall = performance.now();
    }
    await wait.done;
    // However slow this machine, the wait ended a whole quiet period after the last call, never sooner.
    expect(performance.now() - lastCall).toBeGreaterThanOrEqual(199);
  });

  it('goes ahead after maxWaitMs however busy the calls keep it', async () => {
    const gate = new QuietGate({ quietMs: HOUR, maxWaitMs: 30 });
    gate.begin();
    const started = performance.now();
    expect(await gate.wait().done).toBe('deadline');
    expect(performance.now() - started).toBeGreaterThanOrEqual(29);
    expect(gate.calledSince(started)).toBe(true);
    gate.done();
  });

  it('ends at once when there was never a call', async () => {
    const gate = new QuietGate({ quietMs: HOUR, maxWaitMs: HOUR });
    expect(await gate.wait().done).toBe('quiet');
  });

  it('tells whether a call began since a moment, or is under way', () => {
    const gate = new QuietGate();
    const before = performance.now();
    expect(gate.calledSince(before)).toBe(false);
    gate.begin();
    expect(gate.calledSince(performance.now() + 1)).toBe(true);
    gate.done();
    expect(gate.calledSince(before)).toBe(true);
    expect(gate.calledSince(performance.now() + 1)).toBe(false);
  });

  it('ends a wait its owner cuts short, and only that one', async () => {
    const gate = new QuietGate({ quietMs: HOUR, maxWaitMs: HOUR });
    gate.begin();
    const cut = gate.wait();
    const other = gate.wait();
    cut.now();
    expect(await cut.done).toBe('now');
    expect(await pendingAfter(other.done)).toBe(true);
    gate.flush();
    await other.done;
  });

  it('on flush ends the waits under way, and the next one waits again', async () => {
    const gate = new QuietGate({ quietMs: HOUR, maxWaitMs: HOUR });
    gate.begin();
    const first = gate.wait();
    gate.flush();
    await first.done;
    const next = gate.wait();
    expect(await pendingAfter(next.done)).toBe(true);
    gate.hurry();
    await next.done;
  });

  it('after a hurry ends every wait at once, those to come too', async () => {
    const gate = new QuietGate({ quietMs: HOUR, maxWaitMs: HOUR });
    gate.begin();
    const before = gate.wait();
    gate.hurry();
    await before.done;
    await gate.wait().done;
  });
});
