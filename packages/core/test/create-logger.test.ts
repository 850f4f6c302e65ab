import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/logging/create-logger.js';

/** A stream that keeps what pino writes, one parsed JSON object per line. */
function capture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  return {
    stream,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

describe('createLogger', () => {
  it('writes one JSON line per call with the fields, the message and the name', () => {
    const { stream, lines } = capture();
    const logger = createLogger({ destination: stream, name: 'stowage-test' });
    logger.info({ volume: 'v1', backing: 'local' }, 'volume created');
    expect(lines()).toHaveLength(1);
    expect(lines()[0]).toMatchObject({
      level: 30,
      name: 'stowage-test',
      volume: 'v1',
      backing: 'local',
      msg: 'volume created',
    });
  });

  it('writes nothing below its level, info by default', () => {
    const { stream, lines } = capture();
    createLogger({ destination: stream }).debug({ detail: 1 }, 'hidden');
    const warnOnly = createLogger({ destination: stream, level: 'warn' });
    warnOnly.info({}, 'hidden too');
    warnOnly.warn({}, 'shown');
    createLogger({ destination: stream, level: 'silent' }).error({}, 'silenced');
    expect(lines().map((line) => line['msg'])).toEqual(['shown']);
  });

  it('censors credential fields at the top and nested in objects, in children too', () => {
    const { stream, lines } = capture();
    const logger = createLogger({ destination: stream, level: 'debug' });
    logger.info(
      {
        password: 'hunter2',
        credentials: {
          secretAccessKey: 'AKIA-SECRET',
          accessKeyId: 'AKIA-ID',
          sessionToken: 'TOKEN',
          region: 'eu-west-1',
        },
        request: { headers: { authorization: 'Bearer abc', accept: 'json' } },
      },
      'calling AWS',
    );
    logger.child({ driver: 'ebs' }).debug({ settings: { aws: { secretAccessKey: 'DEEP-SECRET' } } }, 'settings');

    const [first, second] = lines();
    expect(first).toMatchObject({
      password: '[redacted]',
      credentials: '[redacted]',
      request: { headers: { authorization: '[redacted]', accept: 'json' } },
    });
    expect(second).toMatchObject({ driver: 'ebs', settings: { aws: { secretAccessKey: '[redacted]' } } });

    const { stream: nested, lines: nestedLines } = capture();
    createLogger({ destination: nested }).info({ aws: { secretAccessKey: 'AKIA-SECRET', region: 'eu-west-1' } }, 'x');
    expect(nestedLines()[0]).toMatchObject({ aws: { secretAccessKey: '[redacted]', region: 'eu-west-1' } });

    const written = JSON.stringify([...lines(), ...nestedLines()]);
    for (const secret of ['hunter2', 'AKIA-SECRET', 'AKIA-ID', 'TOKEN', 'Bearer abc', 'DEEP-SECRET']) {
      expect(written).not.toContain(secret);
    }
  });
});
