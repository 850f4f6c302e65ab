import { createHash } from 'node:crypto';

// The engine's limit on a caller id (see MountCounter), which a CO's target path may exceed.
const MAX_CALLER_ID_LENGTH = 256;
const PREFIX = 'csi:';

/**
 * The engine caller that holds a volume for one NodePublish target: derived from the target path alone, so a retried
 * NodePublish, the NodeUnpublish and a plugin restarted in between all name the same hold, and the hold is found in
 * the engine's journal rather than in this process's memory. A path too long for an id is hashed.
 */
export function publishCaller(targetPath: string): string {
  const plain = `${PREFIX}${targetPath}`;
  if (plain.length <= MAX_CALLER_ID_LENGTH && !/[\p{Cc}]/u.test(plain)) return plain;
  return `${PREFIX}sha256:${createHash('sha256').update(targetPath).digest('hex')}`;
}
