import type { EC2Client } from '@aws-sdk/client-ec2';

/** One call's outcome, as {@link observingClient} shows it: its answer, or the error it failed with. */
export type Observed<O> = { readonly output: O; readonly error?: undefined } | { readonly output?: undefined; readonly error: unknown };

/**
 * `client` as an SDK waiter sees it, with the outcome of each of its calls shown to `observe` on its way: the waiter
 * keeps the pacing, the deadline and the abort, and the caller still sees every poll (a snapshot's progress, a
 * volume's state, a volume EC2 does not describe). The waiters only ever call `send`, which is why a proxy of the
 * client is enough.
 */
export function observingClient<O>(client: EC2Client, observe: (observed: Observed<O>) => void): EC2Client {
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver) as unknown;
      return async (command: Parameters<EC2Client['send']>[0]) => {
        let output: O;
        try {
          output = (await target.send(command)) as O;
        } catch (error) {
          observe({ error });
          throw error;
        }
        observe({ output });
        return output;
      };
    },
  });
}
