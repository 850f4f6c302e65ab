import { lstat } from 'node:fs/promises';
import { connect } from 'node:net';

/**
 * What is at a socket path: nothing, a socket nobody accepts connections on (left by a process that died),
 * a socket some process answers on, or a file that is not a socket at all.
 */
export type SocketState = 'absent' | 'stale' | 'live' | 'not-a-socket';

const PROBE_TIMEOUT_MS = 2_000;

/** Finds out what is at `path` by trying to connect; nothing is sent. */
export async function probeSocket(path: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<SocketState> {
  try {
    if (!(await lstat(path)).isSocket()) return 'not-a-socket';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw error;
  }
  return new Promise<SocketState>((resolve, reject) => {
    const socket = connect({ path });
    const done = (state: SocketState | Error) => {
      clearTimeout(timer);
      socket.destroy();
      if (state instanceof Error) reject(state);
      else resolve(state);
    };
    // A listener that is alive but too busy to accept within the timeout still owns the path.
    const timer = setTimeout(() => done('live'), timeoutMs);
    socket.once('connect', () => done('live'));
    socket.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED') done('stale');
      else if (error.code === 'ENOENT') done('absent');
      else done(error);
    });
  });
}
