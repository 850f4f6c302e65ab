import { DescribeVolumesCommand, EC2Client, waitUntilVolumeAvailable } from '@aws-sdk/client-ec2';
import { DescribeFileSystemsCommand, EFSClient } from '@aws-sdk/client-efs';
import type { CloudCallObservation, StowageTelemetry } from '@stowage/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { observeCloudCalls } from '../src/index.js';
import {
  describedVolume,
  ec2Error,
  startScriptedAwsServer,
  type ScriptedAwsServer,
} from './support/scripted-aws-server.js';

const SECRET = 'wJalrXUtnFEMI-not-a-real-secret';
const VOLUME = 'vol-0123456789abcdef0';
const THROTTLED = ec2Error(503, 'RequestLimitExceeded', 'Request limit exceeded.');

function recorder(): StowageTelemetry & { readonly calls: CloudCallObservation[] } {
  const calls: CloudCallObservation[] = [];
  return { calls, cloudCall: (call) => calls.push(call), journalWrite: () => undefined };
}

describe('observeCloudCalls, with real SDK clients against a scripted endpoint', () => {
  let server: ScriptedAwsServer;
  const clients: Array<{ destroy(): void }> = [];
  beforeAll(async () => {
    server = await startScriptedAwsServer();
  });
  afterAll(async () => {
    await server?.stop();
  });
  afterEach(() => {
    for (const client of clients.splice(0)) client.destroy();
    server.requests.length = 0;
  });

  function ec2(maxAttempts = 3) {
    const telemetry = recorder();
    const client = new EC2Client({
      region: 'us-east-1',
      endpoint: server.endpoint,
      credentials: { accessKeyId: 'AKIAOBSERVED', secretAccessKey: SECRET },
      maxAttempts,
    });
    observeCloudCalls(client, telemetry);
    clients.push(client);
    return { client, telemetry };
  }

  const describe1 = () => new DescribeVolumesCommand({ VolumeIds: [VOLUME] });

  it('reports a call that succeeded: service, action, one attempt, its latency', async () => {
    const { client, telemetry } = ec2();
    server.script(describedVolume(VOLUME, 'available'));
    await client.send(describe1());
    expect(telemetry.calls).toEqual([
      {
        service: 'ec2',
        action: 'DescribeVolumes',
        outcome: 'ok',
        attempts: 1,
        throttles: 0,
        seconds: expect.any(Number),
      },
    ]);
    expect(telemetry.calls[0]?.seconds).toBeGreaterThan(0);
    expect(server.requests).toHaveLength(1);
  });

  it('counts a throttled attempt the SDK retried apart from the call, which succeeded', async () => {
    const { client, telemetry } = ec2();
    server.script(THROTTLED, describedVolume(VOLUME, 'available'));
    const answer = await client.send(describe1());
    expect(answer.Volumes?.[0]?.VolumeId).toBe(VOLUME);
    expect(server.requests).toHaveLength(2);
    expect(telemetry.calls).toMatchObject([{ action: 'DescribeVolumes', outcome: 'ok', attempts: 2, throttles: 1 }]);
  });

  it('reports a call throttled on every attempt as throttled, with the code, once per call', async () => {
    const { client, telemetry } = ec2(2);
    server.script(THROTTLED);
    const error = (await client.send(describe1()).catch((e: unknown) => e)) as Error;
    expect(error.name).toBe('RequestLimitExceeded');
    expect(server.requests).toHaveLength(2);
    expect(telemetry.calls).toMatchObject([
      { outcome: 'throttled', attempts: 2, throttles: 2, errorCode: 'RequestLimitExceeded' },
    ]);
  });

  it('reports a refusal that is not throttling as an error, not retried', async () => {
    const { client, telemetry } = ec2();
    server.script(ec2Error(400, 'InvalidVolume.NotFound', `The volume '${VOLUME}' does not exist.`));
    await expect(client.send(describe1())).rejects.toThrow(/does not exist/);
    expect(telemetry.calls).toMatchObject([
      { outcome: 'error', attempts: 1, throttles: 0, errorCode: 'InvalidVolume.NotFound' },
    ]);
  });

  it('counts the retries of a server error, and the error it ended with', async () => {
    const { client, telemetry } = ec2(3);
    server.script(ec2Error(500, 'InternalError', 'An internal error has occurred.'));
    await expect(client.send(describe1())).rejects.toThrow(/internal error/);
    expect(server.requests).toHaveLength(3);
    expect(telemetry.calls).toMatchObject([
      { outcome: 'error', attempts: 3, throttles: 0, errorCode: 'InternalError' },
    ]);
  });

  it('reports a call that reached no server as an error', async () => {
    const telemetry = recorder();
    const closed = await startScriptedAwsServer();
    await closed.stop();
    const client = new EC2Client({
      region: 'us-east-1',
      endpoint: closed.endpoint,
      credentials: { accessKeyId: 'AKIAOBSERVED', secretAccessKey: SECRET },
      maxAttempts: 1,
    });
    clients.push(client);
    observeCloudCalls(client, telemetry);
    await expect(client.send(describe1())).rejects.toThrow();
    expect(telemetry.calls).toMatchObject([{ action: 'DescribeVolumes', outcome: 'error', attempts: 1 }]);
    expect(telemetry.calls[0]?.errorCode).toMatch(/ECONNREFUSED|Error/);
  });

  it("reports each poll of an SDK waiter: they go through the client's middleware", async () => {
    const { client, telemetry } = ec2();
    server.script(describedVolume(VOLUME, 'creating'), describedVolume(VOLUME, 'available'));
    await waitUntilVolumeAvailable({ client, maxWaitTime: 30, minDelay: 1, maxDelay: 1 }, { VolumeIds: [VOLUME] });
    expect(server.requests).toHaveLength(2);
    expect(telemetry.calls.map((c) => `${c.action}:${c.outcome}`)).toEqual([
      'DescribeVolumes:ok',
      'DescribeVolumes:ok',
    ]);
  });

  it('never reports parameters, answers or credentials', async () => {
    const { client, telemetry } = ec2();
    server.script(ec2Error(400, 'InvalidVolume.NotFound', `The volume '${VOLUME}' does not exist.`));
    await client.send(describe1()).catch(() => undefined);
    server.script(describedVolume(VOLUME, 'available'));
    await client.send(describe1());
    const reported = JSON.stringify(telemetry.calls);
    for (const secret of [VOLUME, 'AKIAOBSERVED', SECRET, 'does not exist']) expect(reported).not.toContain(secret);
  });

  it('answers the call as the service did when the observer throws', async () => {
    const { client } = ec2();
    observeCloudCalls(client, {
      cloudCall: () => {
        throw new Error('exporter broke');
      },
      journalWrite: () => undefined,
    });
    server.script(describedVolume(VOLUME, 'available'));
    expect((await client.send(describe1())).Volumes?.[0]?.VolumeId).toBe(VOLUME);
    server.script(ec2Error(400, 'InvalidVolume.NotFound', `The volume '${VOLUME}' does not exist.`));
    await expect(client.send(describe1())).rejects.toMatchObject({ name: 'InvalidVolume.NotFound' });
  });

  it('counts each call once when added twice to the same client', async () => {
    const { client, telemetry } = ec2();
    observeCloudCalls(client, telemetry);
    server.script(THROTTLED, describedVolume(VOLUME, 'available'));
    await client.send(describe1());
    expect(telemetry.calls).toMatchObject([{ attempts: 2, throttles: 1 }]);
  });

  it('names the service of another client (EFS, REST JSON) and classifies its HTTP 429 as throttling', async () => {
    const telemetry = recorder();
    const client = new EFSClient({
      region: 'us-east-1',
      endpoint: server.endpoint,
      credentials: { accessKeyId: 'AKIAOBSERVED', secretAccessKey: SECRET },
      maxAttempts: 2,
    });
    clients.push(client);
    observeCloudCalls(client, telemetry);
    const throttled = {
      status: 429,
      contentType: 'application/json',
      body: JSON.stringify({ ErrorCode: 'ThrottlingException', Message: 'Rate exceeded' }),
    };
    const listed = { status: 200, contentType: 'application/json', body: JSON.stringify({ FileSystems: [] }) };
    server.script(throttled, listed);
    await client.send(new DescribeFileSystemsCommand({}));
    server.script(throttled);
    await expect(client.send(new DescribeFileSystemsCommand({}))).rejects.toThrow();
    expect(telemetry.calls).toMatchObject([
      { service: 'efs', action: 'DescribeFileSystems', outcome: 'ok', attempts: 2, throttles: 1 },
      { service: 'efs', action: 'DescribeFileSystems', outcome: 'throttled', attempts: 2, throttles: 2 },
    ]);
  });
});
