/**
 * What went wrong, as a caller branches on it. Adapters map each kind to their protocol the same way;
 * nobody branches on message text.
 */
export enum ErrorKind {
  /** The volume (or the thing named) does not exist. Docker forgets a volume on this answer to Get. */
  NotFound = 'NotFound',
  /** A volume of that name exists already with other options or on another backing. */
  AlreadyExists = 'AlreadyExists',
  /** The request itself is wrong: a bad name, an unknown or malformed option, a missing required one. */
  InvalidArgument = 'InvalidArgument',
  /** The volume is mounted (here, or elsewhere when the backend can tell) and the operation would break that. */
  InUse = 'InUse',
  /** The backend or the host failed; retrying later may succeed. Never means "does not exist". */
  BackendFailure = 'BackendFailure',
  /**
   * This node is at a limit of the backing's (an instance's EBS attach limit): retrying here fails until something
   * is released on this node; another node may succeed. Orchestrators place volumes by it (CSI's RESOURCE_EXHAUSTED).
   */
  LimitReached = 'LimitReached',
}
