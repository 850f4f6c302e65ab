import { isAbsolute } from 'node:path';
import { configValues, StowageError } from '@stowage/core';

/**
 * The unix socket path of a CSI endpoint as COs write it (`CSI_ENDPOINT`): `unix:///run/csi/csi.sock`, `unix:/run/...`
 * or a bare absolute path. Only unix sockets: the spec's plugins are reached through the node's file system.
 */
export function csiSocketPath(endpoint: string): string {
  const path = endpoint.startsWith('unix://') ? endpoint.slice('unix://'.length) : endpoint.replace(/^unix:/, '');
  if (!isAbsolute(path)) {
    throw StowageError.invalidArgument(
      `CSI endpoint ${JSON.stringify(endpoint)}: give a unix socket as unix:///absolute/path.sock`,
    );
  }
  const fits = configValues.unixSocketPath.safeParse(path);
  if (!fits.success) throw StowageError.invalidArgument(`CSI endpoint: ${fits.error.issues[0]?.message}`);
  return path;
}
