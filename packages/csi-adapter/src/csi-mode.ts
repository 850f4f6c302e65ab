/** Which CSI services one plugin process serves (Identity always): `controller`, `node`, or `both`. */
export type CsiMode = 'controller' | 'node' | 'both';

export const CSI_MODES: readonly CsiMode[] = ['controller', 'node', 'both'];

export function servesController(mode: CsiMode): boolean {
  return mode !== 'node';
}

export function servesNode(mode: CsiMode): boolean {
  return mode !== 'controller';
}
