import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

/**
 * The plugin that does nothing (null-plugin.ts) in a process of its own (null-plugin-process.ts), as Stowage and every
 * real plugin run: served from the bench's own event loop, it would share the process the engine answers next and
 * be timed without a process of its own to wake on each call, which flatters it.
 */
export class NullPluginChild {
  private constructor(private readonly child: ChildProcess) {}

  /** Starts it on `socket`; resolves once it listens. */
  static async start(socket: string): Promise<NullPluginChild> {
    const entry = fileURLToPath(new URL('./null-plugin-process.ts', import.meta.url));
    // The same node and loader (tsx) as this process.
    const child = spawn(process.execPath, [...process.execArgv, entry, socket], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout?.setEncoding('utf8');
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on('data', (chunk: string) => {
        out += chunk;
        if (out.includes('ready')) resolve();
      });
      child.once('exit', (code) =>
        reject(new Error(`the plugin that does nothing exited (${code}) before it listened`)),
      );
    });
    return new NullPluginChild(child);
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /** Stops it (SIGTERM: it closes its socket) and waits for it to exit. */
  async stop(): Promise<void> {
    const { child } = this;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  }
}
