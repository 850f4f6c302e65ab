import { DescribeInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import type { NodeIdentity } from '@stowage/aws-node';
import { StowageError, driverSettingEnvName } from '@stowage/core';

/** How {@link NodeReadiness} spaces and bounds its EC2 calls. */
export interface NodeReadinessTiming {
  /**
   * How long an answer stands before EC2 is asked again: a readiness probe every few seconds on every node of a
   * cluster would otherwise spend the account's DescribeInstances rate, which Mounts share.
   */
  readonly everyMs: number;
  /** How long one DescribeInstances may take, retries included, before it is abandoned (below the engine's 5 s). */
  readonly budgetMs: number;
}

export const DEFAULT_NODE_READINESS_TIMING: NodeReadinessTiming = { everyMs: 30_000, budgetMs: 4_000 };

/** An answer of EC2 and when it came; `at` is undefined while the call is under way. */
interface Answer {
  readonly answer: Promise<void>;
  at: number | undefined;
}

/**
 * Whether EC2 serves this node: it answers DescribeInstances of the node's own instance, with the node's credentials,
 * and the instance is running. One call at a time, at most one per {@link NodeReadinessTiming.everyMs}, each abandoned
 * after its budget: a hung endpoint never piles up calls, and a probe in between is answered what EC2 last said.
 */
export class NodeReadiness {
  private last: Answer | undefined;

  constructor(
    private readonly client: EC2Client,
    private readonly node: NodeIdentity,
    private readonly timing: NodeReadinessTiming = DEFAULT_NODE_READINESS_TIMING,
    private readonly now: () => number = Date.now,
  ) {}

  /** Resolves while EC2 serves this node; rejects with a BackendFailure saying what is wrong. */
  check(): Promise<void> {
    const last = this.last;
    if (last && (last.at === undefined || this.now() - last.at < this.timing.everyMs)) return last.answer;
    const entry: Answer = { answer: this.ask(), at: undefined };
    this.last = entry;
    const settled = () => {
      entry.at = this.now();
    };
    entry.answer.then(settled, settled);
    return entry.answer;
  }

  private async ask(): Promise<void> {
    const { instanceId, region } = this.node;
    let state: string | undefined;
    const abortSignal = AbortSignal.timeout(this.timing.budgetMs);
    try {
      const result = await this.client.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }), {
        abortSignal,
      });
      state = result.Reservations?.[0]?.Instances?.[0]?.State?.Name;
    } catch (error) {
      if (abortSignal.aborted) {
        throw StowageError.backendFailure(
          `EC2 in ${region} gave no answer to DescribeInstances of this node within ${this.timing.budgetMs} ms`,
          error,
        );
      }
      const code = (error as Error).name;
      if (code !== 'InvalidInstanceID.NotFound' && code !== 'InvalidInstanceID.Malformed') {
        throw StowageError.backendFailure(
          `EC2 in ${region} does not answer with this node's credentials: ${code}: ${(error as Error).message}`,
          error,
        );
      }
    }
    if (state === undefined) {
      throw StowageError.backendFailure(
        `EC2 in ${region} knows no instance ${instanceId}, which this node takes as its own; correct the ebs ` +
          `driver's instanceId setting (${driverSettingEnvName('ebs', 'instanceId')}) or leave it to instance metadata`,
      );
    }
    if (state !== 'running') {
      throw StowageError.backendFailure(`this node's instance ${instanceId} is ${state}, not running`);
    }
  }
}
