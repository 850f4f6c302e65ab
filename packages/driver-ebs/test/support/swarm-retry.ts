import { ErrorKind, StowageError, type MountResult } from '@stowage/core';
import type { EbsProvider } from '../../src/index.js';

/**
 * Mounts `name` as a swarm task does, and as a Docker user would: a Mount answered with an error that asks to retry
 * shortly (a call cut at its budget while a move or EC2 goes on) is sent again, until it succeeds or fails otherwise.
 * For tests whose subject is what the Mount ends with, not how fast the machine got there.
 */
export async function mountAsSwarmWould(provider: EbsProvider, name: string): Promise<MountResult> {
  for (;;) {
    try {
      return await provider.mount({ name });
    } catch (error) {
      if (!(StowageError.is(error, ErrorKind.BackendFailure) && /retry shortly/.test(error.message))) throw error;
    }
  }
}
