/**
 * The plugin that does nothing (null-plugin.ts) as a process of its own, serving the socket given as its argument:
 * Stowage runs in its own process, so a replay that timed the other plugin in the caller's own event loop would
 * leave out the wake-up of a second process on every call and flatter it. Prints `ready` once it listens; stops
 * on SIGTERM.
 */
import { NullPlugin } from './null-plugin.js';

const socket = process.argv[2];
if (!socket) {
  console.error('usage: null-plugin-process.ts SOCKET');
  process.exit(2);
}
const plugin = await NullPlugin.start(socket);
process.once('SIGTERM', () => {
  void plugin.stop().finally(() => process.exit(0));
});
console.log('ready');
