import { status } from '@grpc/grpc-js';
import { StowageError } from '@stowage/core';
import { describe, expect, it } from 'vitest';
import { OperationsInFlight } from '../src/operations-in-flight.js';
import { expectCode } from './support/expect-code.js';

/** A piece of work that runs until the test ends it. */
function gated<T>() {
  let finish!: (value: T) => void;
  let fail!: (error: unknown) => void;
  let runs = 0;
  const done = new Promise<T>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  return {
    work: () => {
      runs += 1;
      return done;
    },
    finish,
    fail,
    runs: () => runs,
  };
}

// Every budget here runs out for certain: the work waits for the test, never for the clock.
const SHORT = { budgetMs: 5 };

describe('OperationsInFlight: one operation per volume, which outlives the call that started it', () => {
  it('answers ABORTED past the budget, goes on, and a retry of the same operation joins it and answers its outcome', async () => {
    const inFlight = new OperationsInFlight();
    const attach = gated<string>();
    await expectCode(inFlight.run('v', attach.work, { key: 'publish /t', ...SHORT }), status.ABORTED);
    await expectCode(inFlight.run('v', attach.work, { key: 'publish /t', ...SHORT }), status.ABORTED);
    const retry = inFlight.run('v', attach.work, { key: 'publish /t' });
    attach.finish('mounted');
    expect(await retry).toBe('mounted');
    expect(attach.runs()).toBe(1);
  });

  it('answers ABORTED to another operation on the volume meanwhile, and runs operations on other volumes', async () => {
    const inFlight = new OperationsInFlight();
    const attach = gated<string>();
    await expectCode(inFlight.run('v', attach.work, { key: 'publish /t', ...SHORT }), status.ABORTED);
    const message = await expectCode(
      inFlight.run('v', async () => 'x', { key: 'unpublish /t' }),
      status.ABORTED,
    );
    expect(message).toMatch(/another operation on volume "v" is in progress/);
    await expectCode(
      inFlight.run('v', async () => 'x'),
      status.ABORTED,
    );
    expect(await inFlight.run('w', async () => 'other volume')).toBe('other volume');
    attach.finish('mounted');
    await inFlight.settled();
    // Done: the volume is free for any operation, and a publish runs anew (its own checks make it idempotent).
    expect(await inFlight.run('v', async () => 'unpublished', { key: 'unpublish /t' })).toBe('unpublished');
  });

  it('answers a failure nobody waited for to the next retry, once, and then runs the operation anew', async () => {
    const inFlight = new OperationsInFlight();
    const attach = gated<string>();
    await expectCode(inFlight.run('v', attach.work, { key: 'publish /t', ...SHORT }), status.ABORTED);
    attach.fail(StowageError.backendFailure('the attach failed'));
    await inFlight.settled();
    const error = await inFlight.run('v', attach.work, { key: 'publish /t' }).catch((e: unknown) => e);
    expect((error as Error).message).toBe('the attach failed');
    expect(attach.runs()).toBe(1);
    expect(await inFlight.run('v', async () => 'mounted', { key: 'publish /t' })).toBe('mounted');
  });

  it('answers a failure to the call waiting for it, and keeps nothing for the next one', async () => {
    const inFlight = new OperationsInFlight();
    const attach = gated<string>();
    const waiting = inFlight.run('v', attach.work, { key: 'publish /t' });
    attach.fail(StowageError.backendFailure('the attach failed'));
    await expect(waiting).rejects.toThrow('the attach failed');
    expect(await inFlight.run('v', async () => 'mounted', { key: 'publish /t' })).toBe('mounted');
  });

  it('forgets a background failure when another operation comes: the CO moved on', async () => {
    const inFlight = new OperationsInFlight();
    const attach = gated<string>();
    await expectCode(inFlight.run('v', attach.work, { key: 'publish /t', ...SHORT }), status.ABORTED);
    attach.fail(StowageError.backendFailure('the attach failed'));
    await inFlight.settled();
    expect(await inFlight.run('v', async () => 'unpublished', { key: 'unpublish /t' })).toBe('unpublished');
    expect(await inFlight.run('v', async () => 'mounted', { key: 'publish /t' })).toBe('mounted');
  });

  it('lets a stopping plugin wait for what goes on in the background', async () => {
    const inFlight = new OperationsInFlight();
    const attach = gated<string>();
    await expectCode(inFlight.run('v', attach.work, { key: 'publish /t', ...SHORT }), status.ABORTED);
    let settled = false;
    const stopping = inFlight.settled().then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    attach.finish('mounted');
    await stopping;
    expect(settled).toBe(true);
  });
});
