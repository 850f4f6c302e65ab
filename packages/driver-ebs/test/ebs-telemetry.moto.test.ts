import { StopInstancesCommand } from '@aws-sdk/client-ec2';
import { ErrorKind, StowageError, parseOptions, type CloudCallObservation, type StowageTelemetry } from '@stowage/core';
import { startCountingProxy } from '@stowage/testkit/moto';
import { beforeEach, describe, expect, it } from 'vitest';
import type { EbsTestNode } from '../src/testing/index.js';
import { useCountingProxy, useMotoFixture, type NodeExtras } from './support/moto-fixture.js';

const ZONE = 'us-east-1a';
const CLUSTER = 'telemetry-tests';
const UNKNOWN_INSTANCE = 'i-0123456789abcdef0';

const fixture = useMotoFixture({ zone: ZONE, clusterId: CLUSTER });
const counting = useCountingProxy(fixture);
beforeEach(() => {
  counting.proxy.reset();
});

function recorder(): StowageTelemetry & { readonly calls: CloudCallObservation[] } {
  const calls: CloudCallObservation[] = [];
  return { calls, cloudCall: (call) => calls.push(call), journalWrite: () => undefined };
}

/** A node whose provider's EC2 calls go through the counting proxy; checkReady asks EC2 every time unless told. */
function countedNode(extra: NodeExtras = {}): Promise<EbsTestNode> {
  return fixture.node(ZONE, CLUSTER, {
    ec2Endpoint: counting.proxy.endpoint,
    ...extra,
    timing: { readiness: { everyMs: 0 }, ...extra.timing },
  });
}

/** The attempts reported, by `ec2:<action>` as the counting proxy names calls. */
function attemptsByAction(calls: readonly CloudCallObservation[]): Record<string, number> {
  const byAction: Record<string, number> = {};
  for (const call of calls) {
    const key = `${call.service}:${call.action}`;
    byAction[key] = (byAction[key] ?? 0) + call.attempts;
  }
  return Object.fromEntries(Object.entries(byAction).sort(([a], [b]) => a.localeCompare(b)));
}

const failureOf = async (work: Promise<unknown>): Promise<StowageError> => {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(StowageError.is(error, ErrorKind.BackendFailure)).toBe(true);
  return error as StowageError;
};

describe('EC2 calls reported to telemetry (moto)', () => {
  it('reports every request that reaches EC2 through a start, create, mount, unmount and remove', async () => {
    const telemetry = recorder();
    const a = await countedNode({ telemetry });
    const options = parseOptions(a.provider.options, { size: '1' }, 'backing=ebs');
    await a.provider.create({ name: 'observed', options });
    await a.provider.mount({ name: 'observed' });
    await a.provider.unmount({ name: 'observed' });
    await a.provider.remove({ name: 'observed' });

    const seenByEc2 = counting.proxy.counts();
    expect(Object.keys(seenByEc2)).toEqual(
      expect.arrayContaining(['ec2:AttachVolume', 'ec2:CreateVolume', 'ec2:DeleteVolume', 'ec2:DetachVolume']),
    );
    expect(attemptsByAction(telemetry.calls)).toEqual(seenByEc2);
    for (const call of telemetry.calls) {
      expect(call.seconds).toBeGreaterThan(0);
      expect(call.throttles).toBe(0);
    }
  }, 120_000);
});

describe('EBS readiness (moto)', () => {
  it("is ready while EC2 answers for this node's running instance, asking it once per check", async () => {
    const a = await countedNode();
    counting.proxy.reset();
    await expect(a.provider.checkReady()).resolves.toBeUndefined();
    await expect(a.provider.checkReady()).resolves.toBeUndefined();
    expect(counting.proxy.counts()).toEqual({ 'ec2:DescribeInstances': 2 });
  });

  it('is not ready, naming the setting to correct, when EC2 knows no instance of the configured id', async () => {
    const a = await countedNode({ settings: { instanceId: UNKNOWN_INSTANCE } });
    const error = await failureOf(a.provider.checkReady());
    expect(error.message).toMatch(
      new RegExp(`knows no instance ${UNKNOWN_INSTANCE}.*instanceId setting \\(STOWAGE_EBS_INSTANCE_ID\\)`),
    );
  });

  it('is not ready once the instance stops', async () => {
    const a = await countedNode();
    await fixture.client.send(new StopInstancesCommand({ InstanceIds: [a.instanceId] }));
    const error = await failureOf(a.provider.checkReady());
    expect(error.message).toMatch(new RegExp(`instance ${a.instanceId} is (stopping|stopped), not running`));
  });

  it('is not ready when EC2 stops answering, and says so', async () => {
    const relay = await startCountingProxy(fixture.moto.endpoint);
    const a = await fixture.node(ZONE, CLUSTER, { ec2Endpoint: relay.endpoint, timing: { readiness: { everyMs: 0 } } });
    await relay.stop();
    const error = await failureOf(a.provider.checkReady());
    expect(error.message).toMatch(/EC2 in us-east-1 (does not answer with this node's credentials|gave no answer)/);
  });

  it('answers from its last call for a while rather than asking EC2 at every probe', async () => {
    const a = await countedNode({ timing: { readiness: { everyMs: 60_000 } } });
    counting.proxy.reset();
    await a.provider.checkReady();
    await fixture.client.send(new StopInstancesCommand({ InstanceIds: [a.instanceId] }));
    // Still the answer EC2 gave a moment ago: the next call comes after everyMs.
    await expect(a.provider.checkReady()).resolves.toBeUndefined();
    expect(counting.proxy.counts()).toEqual({ 'ec2:DescribeInstances': 1 });
  });

  it('is not ready before init', async () => {
    const a = await fixture.node(ZONE, CLUSTER);
    await a.provider.close();
    const error = await failureOf(a.provider.checkReady());
    expect(error.message).toMatch(/not started/);
  });
});
