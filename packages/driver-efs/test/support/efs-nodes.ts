import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { SystemHostOperations, VolumeEngine, createLogger } from '@stowage/core';
import type { EfsProvider, EfsProviderDeps, EfsProviderSettings } from '../../src/index.js';
import { provider } from './moto-efs.js';

/** One node: an engine with the shared backing, its own state directory and mount root. */
export interface EfsNode {
  readonly engine: VolumeEngine;
  readonly efs: EfsProvider;
  readonly mountRoot: string;
}

/** Settings of a node's provider, besides those every node of a test shares. */
export type NodeSettings = Omit<Partial<EfsProviderSettings>, 'mountRoot'>;

/**
 * The nodes of one test, on one NFS stand-in. A node started again under the same label is the same node after a
 * restart: same state directory, same mount root, so the same node identity in locks.
 */
export class EfsNodes {
  private readonly engines: VolumeEngine[] = [];

  constructor(private readonly scratch: { readonly dir: string; readonly exports: string }) {}

  async start(
    label: string,
    settings: NodeSettings,
    deps: Omit<Partial<EfsProviderDeps>, 'host'> = {},
  ): Promise<EfsNode> {
    const host = new SystemHostOperations();
    const mountRoot = join(this.scratch.dir, label, 'mounts');
    const efs = provider({ nfsStandInDir: this.scratch.exports, ...settings, mountRoot }, host, deps);
    const engine = new VolumeEngine([efs], host, createLogger({ level: 'silent' }), {
      stateDir: join(this.scratch.dir, label, 'state'),
    });
    await engine.start();
    this.engines.push(engine);
    return { engine, efs, mountRoot };
  }

  /**
   * Stops a node whose operation is frozen half way, leaving its mounts and files as a `kill -9` would; the
   * frozen operation never goes on.
   */
  async crash(node: EfsNode): Promise<void> {
    this.engines.splice(this.engines.indexOf(node.engine), 1);
    await node.engine.stop();
  }

  async stopAll(): Promise<void> {
    for (const engine of this.engines.splice(0)) await engine.stop();
  }
}

/** The stand-in export of a file system: what every node sees at the file system's root. */
export async function fileSystemRoot(exportsDir: string, fileSystemId: string): Promise<string> {
  const root = join(exportsDir, fileSystemId);
  await mkdir(root, { recursive: true });
  return root;
}

/** What is at the file system's root, in `/.stowage` and in its work area, sorted. */
export async function fileSystemEntries(root: string): Promise<{ root: string[]; meta: string[]; work: string[] }> {
  const entries = async (dir: string) => (await readdir(dir).catch(() => [] as string[])).sort();
  return {
    root: await entries(root),
    meta: await entries(join(root, '.stowage')),
    work: await entries(join(root, '.stowage', 'work')),
  };
}
