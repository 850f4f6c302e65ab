import type { PluginAnswer, PluginProcess } from '@stowage/testkit/docker';
import type { BackingWorld, CrashBacking } from './crash-backings.js';
import { bytesLost, writeVolumeFiles, type WrittenFile } from './volume-files.js';

/** A mount a caller of the row holds: the volume and the path the plugin answered. */
interface Hold {
  readonly volume: string;
  readonly path: string;
}

/** What one row found; every list must end empty and `bytesLost` 0. */
export interface RowFindings {
  /** Mounts no caller holds, holds no caller made, orphaned or duplicated backend resources. */
  readonly leaks: string[];
  /** Mounts a caller holds that stopped showing its files. */
  readonly holdsBroken: string[];
  /** Operations that could not be retried to completion. */
  readonly incomplete: string[];
  bytesLost: number;
}

/**
 * One row's caller: talks to the plugin's socket as the Docker engine does, and remembers what a correct plugin
 * must keep: the files it wrote into each volume and the mounts it holds.
 */
export class CrashRow {
  readonly findings: RowFindings = { leaks: [], holdsBroken: [], incomplete: [], bytesLost: 0 };
  private readonly files = new Map<string, WrittenFile[]>();
  private readonly holds = new Map<string, Hold>();

  constructor(
    readonly plugin: PluginProcess,
    readonly backing: CrashBacking,
    /** The row's backend, for what a scenario does outside the plugin (a volume made on another node). */
    readonly world: BackingWorld,
    /** The volume the interrupted operation works on. */
    readonly target: string,
    /** A volume with data that no operation of the row touches: a recovery must leave it alone. */
    readonly bystander: string,
  ) {}

  /** Volumes that must exist once the row is over. */
  volumes(targetExists: boolean): Set<string> {
    return new Set(targetExists ? [this.target, this.bystander] : [this.bystander]);
  }

  request(method: string, body: unknown): Promise<PluginAnswer> {
    return this.plugin.request(`VolumeDriver.${method}`, body);
  }

  async create(name: string): Promise<void> {
    await this.expectOk('Create', { Name: name, Opts: this.backing.createOptions });
  }

  /** Mounts `name` for caller `id`, which then holds it until {@link release}; returns the mount point. */
  async hold(name: string, id: string): Promise<string> {
    const answer = await this.expectOk('Mount', { Name: name, ID: id });
    const path = (answer.json as { Mountpoint?: unknown }).Mountpoint;
    if (typeof path !== 'string' || path === '')
      throw new Error(`Mount of ${name} answered no Mountpoint: ${answer.text}`);
    this.holds.set(id, { volume: name, path });
    return path;
  }

  async release(id: string): Promise<void> {
    const hold = this.mustHold(id);
    await this.expectOk('Unmount', { Name: hold.volume, ID: id });
    this.holds.delete(id);
  }

  /** Forgets a hold without an Unmount: the caller got no answer, so as far as it knows it holds nothing. */
  forget(id: string): void {
    this.holds.delete(id);
  }

  pathOf(id: string): string {
    return this.mustHold(id).path;
  }

  /** Writes files into `name` through a mount of its own, and keeps their checksums. */
  async fill(name: string): Promise<void> {
    const id = `fill-${name}`;
    const path = await this.hold(name, id);
    this.remember(name, await writeVolumeFiles(path));
    await this.release(id);
  }

  /** Keeps the checksums of files written into `name` some other way than {@link fill}: they must read back. */
  remember(name: string, files: readonly WrittenFile[]): void {
    this.files.set(name, [...files]);
  }

  /** Makes `name` with files on another node of the backend, in another zone (see BackingWorld.createElsewhere). */
  async createElsewhere(name: string): Promise<void> {
    if (!this.world.createElsewhere)
      throw new Error(`the ${this.backing.name} backing has no other zone to make ${name} in`);
    this.remember(name, await this.world.createElsewhere(name));
  }

  /** The files of `name` as caller `id` sees them: lost bytes count against the row. */
  async verifyThrough(id: string, when: string): Promise<void> {
    const hold = this.mustHold(id);
    const lost = await bytesLost(hold.path, this.files.get(hold.volume) ?? []);
    if (lost > 0) {
      this.findings.bytesLost += lost;
      this.findings.holdsBroken.push(`${when}: ${hold.volume} held by ${id} at ${hold.path} lost ${lost} bytes`);
    }
  }

  /** Mounts `name` afresh, checks every file written into it, and lets go. */
  async verifyVolume(name: string, when: string): Promise<void> {
    const id = `verify-${name}-${this.holds.size}`;
    const path = await this.hold(name, id);
    const lost = await bytesLost(path, this.files.get(name) ?? []);
    this.findings.bytesLost += lost;
    if (lost > 0) this.findings.incomplete.push(`${when}: ${name} lost ${lost} bytes`);
    await this.release(id);
  }

  /** Every hold the row still has, in the order made. */
  heldIds(): string[] {
    return [...this.holds.keys()];
  }

  /** The volume as Get answers it, or undefined when the plugin says it does not exist. */
  async get(name: string): Promise<{ Mountpoint: string; Status?: Record<string, unknown> } | undefined> {
    const answer = await this.request('Get', { Name: name });
    const body = answer.json as
      { Volume?: { Mountpoint: string; Status?: Record<string, unknown> } | null; Err?: string } | undefined;
    if (answer.status === 200 && body?.Volume && !body.Err) return body.Volume;
    if (body?.Err && /not found/.test(body.Err)) return undefined;
    throw new Error(`Get ${name} answered ${answer.status} ${answer.text}`);
  }

  /** Sends a request and fails the row unless the plugin answers 200 with an empty Err. */
  async expectOk(method: string, body: unknown): Promise<PluginAnswer> {
    const answer = await this.request(method, body);
    const err = (answer.json as { Err?: unknown } | undefined)?.Err;
    if (answer.status !== 200 || (err !== undefined && err !== '')) {
      throw new Error(`${method} ${JSON.stringify(body)} answered ${answer.status} ${answer.text}`);
    }
    return answer;
  }

  private mustHold(id: string): Hold {
    const hold = this.holds.get(id);
    if (!hold) throw new Error(`the row holds no mount with ID ${id}`);
    return hold;
  }
}
