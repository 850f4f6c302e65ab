import { Readable } from 'node:stream';
import { EC2Client } from '@aws-sdk/client-ec2';
import { StowageError, createLogger } from '@stowage/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EbsVolumes } from '../src/ebs-volumes.js';

// What EC2 answers when an account's request rate is over its limit, and a plain DescribeVolumes answer.
const THROTTLED = {
  statusCode: 503,
  body: '<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>req-throttled</RequestID></Response>',
};
const DESCRIBED = {
  statusCode: 200,
  body: '<DescribeVolumesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>req-ok</requestId><volumeSet><item><volumeId>vol-0a</volumeId><status>available</status></item></volumeSet></DescribeVolumesResponse>',
};

/**
 * A real SDK client (middleware stack, retry strategy, XML parsing) whose HTTP handler answers `answers` in turn,
 * the last one for ever after; `requests` records the body of each request sent.
 */
function clientAnswering(
  answers: ReadonlyArray<{ statusCode: number; body: string }>,
  config: { maxAttempts?: number } = {},
) {
  const requests: string[] = [];
  const client = new EC2Client({
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIAFAKE', secretAccessKey: 'fake' },
    ...config,
    requestHandler: {
      handle: async (request: { body?: unknown }) => {
        requests.push(String(request.body ?? ''));
        const answer = answers[Math.min(requests.length, answers.length) - 1] as { statusCode: number; body: string };
        return {
          response: {
            statusCode: answer.statusCode,
            headers: { 'content-type': 'text/xml' },
            body: Readable.from([Buffer.from(answer.body)]),
          },
        };
      },
    },
  });
  return { client, requests };
}

const logger = createLogger({ level: 'silent' });

/** A client setting as configured: a value, or the provider the SDK resolves it with. */
function resolved<T>(setting: T | (() => Promise<T>)): Promise<T> {
  return typeof setting === 'function' ? (setting as () => Promise<T>)() : Promise.resolve(setting);
}

describe('throttled EC2 calls', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('retries a DescribeVolumes that EC2 throttled, with the client the driver makes, and answers from the retry', async () => {
    const { client, requests } = clientAnswering([THROTTLED, DESCRIBED]);
    const volume = await new EbsVolumes(client, 'c', 'hash', logger).describe('vol-0a');
    expect(volume.VolumeId).toBe('vol-0a');
    expect(requests).toHaveLength(2);
    expect(requests.every((body) => body.includes('Action=DescribeVolumes'))).toBe(true);
  });

  it('without retries the same throttling reaches the caller as a clear error naming it', async () => {
    const { client, requests } = clientAnswering([THROTTLED, DESCRIBED], { maxAttempts: 1 });
    const error = await new EbsVolumes(client, 'c', 'hash', logger).describe('vol-0a').catch((e: unknown) => e);
    expect(StowageError.is(error)).toBe(true);
    expect((error as Error).message).toMatch(/cannot describe EBS volume vol-0a.*Request limit exceeded/);
    expect(requests).toHaveLength(1);
  });

  it('takes its retry settings from AWS_MAX_ATTEMPTS and AWS_RETRY_MODE, standard mode with 3 attempts by default', async () => {
    const defaults = new EC2Client({ region: 'us-east-1' });
    expect(await defaults.config.maxAttempts()).toBe(3);
    expect(await resolved(defaults.config.retryMode)).toBe('standard');
    vi.stubEnv('AWS_MAX_ATTEMPTS', '7');
    vi.stubEnv('AWS_RETRY_MODE', 'adaptive');
    const tuned = new EC2Client({ region: 'us-east-1' });
    expect(await tuned.config.maxAttempts()).toBe(7);
    expect(await resolved(tuned.config.retryMode)).toBe('adaptive');
    defaults.destroy();
    tuned.destroy();
  });
});
