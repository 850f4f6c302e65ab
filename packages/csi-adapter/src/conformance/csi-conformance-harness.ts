import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, SystemHostOperations, VolumeEngine, type Logger } from '@stowage/core';
import type { ConformanceSetup } from '@stowage/core/testing';
import { type CsiServer, startCsiServer } from '../csi-server.js';
import { defaultPluginName } from '../plugin-name.js';
import { CsiTestClient } from './csi-test-client.js';

/**
 * One test's world: the driver's provider behind a real engine (temporary state directory, the real host operations)
 * and a CSI server (Identity, Controller and Node) on a temporary unix socket, with a gRPC client dialled in, as a CO
 * would be.
 */
export class CsiConformanceHarness {
  /** Per-test prefix: a backend shared between tests never sees two tests use one name. */
  readonly prefix = `csi${randomBytes(3).toString('hex')}`;
  readonly logger: Logger = createLogger({ level: 'silent' });
  readonly host = new SystemHostOperations({ logger: this.logger });
  private readonly names = new Set<string>();
  private readonly targets = new Set<string>();

  private constructor(
    readonly setup: ConformanceSetup,
    readonly dir: string,
    public engine: VolumeEngine,
    private server: CsiServer,
    public client: CsiTestClient,
  ) {}

  static async start(makeSetup: () => Promise<ConformanceSetup>): Promise<CsiConformanceHarness> {
    const setup = await makeSetup();
    let dir: string | undefined;
    try {
      dir = await mkdtemp(join(tmpdir(), 'stowage-csi-conformance-'));
      await mkdir(join(dir, 'targets'));
      const harness = new CsiConformanceHarness(setup, dir, undefined as never, undefined as never, undefined as never);
      await harness.open();
      return harness;
    } catch (error) {
      if (dir) await rm(dir, { recursive: true, force: true });
      await setup.teardown?.();
      throw error;
    }
  }

  get provider() {
    return this.setup.provider;
  }

  /** `unix:///.../csi.sock` */
  get endpoint(): string {
    return `unix://${this.socket}`;
  }

  /** Whether the provider declares that its data does not outlive Unmount. */
  get ephemeral(): boolean {
    return this.provider.capabilities?.ephemeral === true;
  }

  /** A volume name unique to this test, deleted after it. */
  name(suffix: string): string {
    const name = `${this.prefix}-${suffix}`;
    this.names.add(name);
    return name;
  }

  /** A target path for NodePublishVolume (its parent exists, as a CO's does; the plugin makes the target). */
  target(suffix: string): string {
    const target = join(this.dir, 'targets', suffix);
    this.targets.add(target);
    return target;
  }

  /** CreateVolume's parameters: the setup's create options (or `options`) and `backing` naming the provider. */
  parameters(options?: Record<string, string>): Record<string, string> {
    return { backing: this.provider.name, ...(options ?? this.setup.createOptions ?? {}) };
  }

  /** Whether `path` is a mount point now, as the kernel's mount table says. */
  async isMounted(path: string): Promise<boolean> {
    return (await this.host.listMounts(this.dir)).some((mount) => mount.target === path);
  }

  /** Stops the server and the engine and starts both again on the same state and socket, as a restarted plugin. */
  async restart(): Promise<void> {
    await this.shut();
    await this.open();
  }

  /** Unpublishes and deletes what the test left, through the plugin, then stops it and undoes the setup. */
  async close(): Promise<void> {
    try {
      for (const name of this.names) {
        for (const target of this.targets) {
          await this.client.call('node', 'NodeUnpublishVolume', { volume_id: name, target_path: target });
        }
        await this.client.call('controller', 'DeleteVolume', { volume_id: name });
      }
      await this.shut();
    } finally {
      // Anything a failing test left mounted goes before the directory does, deepest first.
      const left = (await this.host.listMounts(this.dir)).sort((a, b) => b.target.length - a.target.length);
      for (const mount of left) await this.host.unmount(mount.target).catch(() => undefined);
      await rm(this.dir, { recursive: true, force: true });
      await this.setup.teardown?.();
    }
  }

  private get socket(): string {
    return join(this.dir, 'csi.sock');
  }

  private async open(): Promise<void> {
    this.engine = new VolumeEngine([this.provider], this.host, this.logger, { stateDir: join(this.dir, 'state') });
    await this.engine.start();
    try {
      this.server = await startCsiServer({
        engine: this.engine,
        socket: this.socket,
        mode: 'both',
        pluginName: defaultPluginName(this.provider.name),
        version: '0.0.0-conformance',
        nodeId: 'conformance-node',
        logger: this.logger,
      });
    } catch (error) {
      await this.engine.stop();
      throw error;
    }
    this.client = new CsiTestClient(this.endpoint);
  }

  private async shut(): Promise<void> {
    this.client.close();
    await this.server.close();
    await this.engine.stop();
    await rm(this.socket, { force: true });
  }
}
