import { createHash } from 'node:crypto';

/**
 * The EC2 `ClientToken` for creating volume `name` in cluster `clusterId`: every node derives the same token, so
 * EC2 answers concurrent creates of one name with one volume.
 *
 * EC2 keeps a token bound to the volume it made for hours, even after that volume is deleted, and answers
 * `IdempotentParameterMismatch` when the token comes back with other parameters. A `generation` above 0 moves to
 * the next token, so `rm` then `create` of a name still gets a fresh volume; every node walks the same sequence.
 * A SHA-256 hex digest is exactly the 64 characters EC2 allows.
 */
export function clientToken(clusterId: string, name: string, generation = 0): string {
  if (!Number.isInteger(generation) || generation < 0)
    throw new RangeError(`generation must be a whole number ≥ 0, got ${generation}`);
  // NUL cannot occur in a cluster id or a volume name, so no two (cluster, name, generation) share an input.
  return createHash('sha256').update(`stowage\0${clusterId}\0${name}\0${generation}`, 'utf8').digest('hex');
}
