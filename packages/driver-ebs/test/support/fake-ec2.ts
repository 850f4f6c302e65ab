import { EC2Client, type Filter, type Volume } from '@aws-sdk/client-ec2';

export type Handler = (command: { input: Record<string, unknown> }) => unknown;

/** An EC2Client (so the SDK paginator and waiters accept it) whose calls are answered by `handlers`, by command class. */
export class FakeEc2 extends EC2Client {
  readonly calls: Array<{ command: string; input: Record<string, unknown> }> = [];
  constructor(private readonly answers: Record<string, Handler>) {
    super({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  }
  override send(command: unknown): Promise<never> {
    const c = command as { constructor: { name: string }; input: Record<string, unknown> };
    this.calls.push({ command: c.constructor.name, input: structuredClone(c.input) });
    const handler = this.answers[c.constructor.name];
    if (!handler) return Promise.reject(new Error(`unexpected ${c.constructor.name}`));
    try {
      return Promise.resolve(handler(c) as never);
    } catch (error) {
      return Promise.reject(error);
    }
  }
  /** The inputs of the calls of one command class, in order. */
  inputsOf(command: string): Array<Record<string, unknown>> {
    return this.calls.filter((c) => c.command === command).map((c) => c.input);
  }
}

/** An error shaped as the SDK throws an EC2 error code; the message is the code unless given. */
export function awsError(name: string, message = name): Error {
  return Object.assign(new Error(message), { name });
}

/**
 * DescribeVolumes over `volumes` as EC2 filters them, for the filters the driver sends: `volume-id`, `tag:<key>` and
 * `attachment.instance-id`, each matching any of its values, all filters together.
 */
export function describeFrom(volumes: readonly Volume[]): (input: Record<string, unknown>) => { Volumes: Volume[] } {
  const matches = (volume: Volume, filter: Filter): boolean => {
    const values = filter.Values ?? [];
    if (filter.Name === 'volume-id') return values.includes(volume.VolumeId ?? '');
    if (filter.Name === 'attachment.instance-id')
      return (volume.Attachments ?? []).some((a) => values.includes(a.InstanceId ?? ''));
    if (filter.Name?.startsWith('tag:')) {
      const key = filter.Name.slice('tag:'.length);
      return (volume.Tags ?? []).some((t) => t.Key === key && values.includes(t.Value ?? ''));
    }
    throw new Error(`the fake does not know filter ${filter.Name}`);
  };
  return (input) => {
    const filters = (input.Filters as Filter[] | undefined) ?? [];
    return { Volumes: volumes.filter((v) => filters.every((f) => matches(v, f))) };
  };
}

/** The values of filter `name` in a recorded call's input. */
export function filterValues(input: Record<string, unknown>, name: string): string[] | undefined {
  return (input.Filters as Filter[] | undefined)?.find((f) => f.Name === name)?.Values;
}
