import { rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { EC2Client, type Volume, type VolumeType } from '@aws-sdk/client-ec2';
import { resolveNodeIdentity, type MetadataReader, type NodeIdentity } from '@stowage/aws-node';
import {
  StowageError,
  formatOptionValues,
  type CreateRequest,
  type HostOperations,
  type Logger,
  type MountResult,
  type OptionSpec,
  type ProviderVolume,
  type StorageProvider,
  type VolumeScope,
} from '@stowage/core';
import { BlockDeviceFinder } from './block-device-finder.js';
import { VOLUME_NAME_TAG, optionsFromTags, stackIdFor, tagValue, volumeTags } from './cluster-tags.js';
import { DeviceNameAllocator } from './device-name-allocator.js';
import { ebsCreateOptions, validateEbsRequest } from './ebs-options.js';
import type { EbsSettings } from './ebs-settings.js';
import { DEFAULT_WAIT_TIMING, EbsVolumes, oldestFirst, type WaitTiming } from './ebs-volumes.js';

/** How many device names a mount tries when EC2 says the chosen one is in use. */
const ATTACH_ATTEMPTS = 3;

/** What the provider needs besides its settings; everything but `host`, `logger` and `stateDir` has a default. */
export interface EbsProviderDependencies {
  readonly host: HostOperations;
  readonly logger: Logger;
  /** The plugin's state directory; volumes are mounted under `<stateDir>/drivers/ebs/mounts` by default. */
  readonly stateDir: string;
  /**
   * Makes the EC2 client for a region; by default an SDK client configured from the standard AWS settings
   * (`AWS_ENDPOINT_URL`, credentials chain, `AWS_MAX_ATTEMPTS`).
   */
  readonly ec2?: (region: string) => EC2Client;
  /** Instance metadata, asked only for identity settings left unset. */
  readonly metadata?: () => MetadataReader;
  readonly timing?: Partial<WaitTiming> & { readonly deviceTimeoutMs?: number };
}

/**
 * Relocatable volumes on Amazon EBS (backing `ebs`, alias `relocatable`, scope `global`).
 *
 * EC2 is the catalogue: a volume is the EBS volume tagged with its name and this cluster's StackID, so any node lists,
 * inspects and removes any of them. Mounting attaches the volume to this instance, verifies the block device is that
 * volume, formats it only if it holds no file system, and mounts it; unmounting detaches it again so another node
 * can take it. A volume attached to another instance is refused, never shared and never replaced by a fresh one.
 */
export class EbsProvider implements StorageProvider {
  readonly name = 'ebs';
  readonly aliases = ['relocatable'] as const;
  readonly scope: VolumeScope = 'global';
  readonly options: readonly OptionSpec[];

  private readonly stackId: string;
  private readonly mountRoot: string;
  private readonly devices: DeviceNameAllocator;
  private readonly finder: BlockDeviceFinder;
  private readonly logger: Logger;
  private readonly timing: WaitTiming;
  private state: { client: EC2Client; volumes: EbsVolumes; node: NodeIdentity } | undefined;

  constructor(
    private readonly settings: EbsSettings,
    private readonly deps: EbsProviderDependencies,
  ) {
    this.options = ebsCreateOptions(settings.fsType);
    this.stackId = stackIdFor(settings.clusterId);
    this.mountRoot = settings.mountRoot ?? join(deps.stateDir, 'drivers', 'ebs', 'mounts');
    this.logger = deps.logger;
    this.timing = { ...DEFAULT_WAIT_TIMING, ...deps.timing };
    this.devices = new DeviceNameAllocator(settings.attachLimit);
    this.finder = new BlockDeviceFinder(
      { deviceDir: settings.deviceDir, sysfsRoot: settings.sysfsRoot, ...(deps.timing?.deviceTimeoutMs ? { timeoutMs: deps.timing.deviceTimeoutMs } : {}) },
      this.logger,
    );
  }

  /** This node's place in EC2, once {@link init} has run. */
  get node(): NodeIdentity | undefined {
    return this.state?.node;
  }

  validate(request: CreateRequest): void {
    validateEbsRequest(request);
  }

  /** Learns this node's identity and proves the EC2 API answers (credentials, endpoint) before serving anything. */
  async init(): Promise<void> {
    const { region, instanceId, availabilityZone } = this.settings;
    const node = await resolveNodeIdentity({ region, instanceId, availabilityZone }, ['instanceId', 'availabilityZone', 'region'], {
      driver: this.name,
      ...(this.deps.metadata ? { reader: this.deps.metadata() } : {}),
    });
    const client = this.deps.ec2 ? this.deps.ec2(node.region) : new EC2Client({ region: node.region });
    const volumes = new EbsVolumes(client, this.settings.clusterId, this.stackId, this.logger, this.timing);
    try {
      await volumes.attachedTo(node.instanceId);
    } catch (error) {
      client.destroy();
      throw StowageError.wrap(error, `the EC2 API in ${node.region} does not answer; check credentials and AWS_ENDPOINT_URL`);
    }
    this.state = { client, volumes, node };
    this.logger.info({ ...node, stackId: this.stackId }, 'ebs backing ready');
  }

  async close(): Promise<void> {
    this.state?.client.destroy();
    this.state = undefined;
  }

  async create(request: CreateRequest): Promise<ProviderVolume> {
    const { volumes, node } = this.ready();
    const { name } = request;
    const options = formatOptionValues(request.options);
    const o = request.options;
    const volume = await volumes.create(name, node.availabilityZone, {
      Size: Number(o.size),
      VolumeType: String(o.ebstype) as VolumeType,
      ...(o.iops !== undefined ? { Iops: Number(o.iops) } : {}),
      ...(o.throughput !== undefined ? { Throughput: Number(o.throughput) } : {}),
      Encrypted: o.encrypted === true,
      ...(o.kmskeyid !== undefined ? { KmsKeyId: String(o.kmskeyid) } : {}),
      ...(o.snapshot !== undefined ? { SnapshotId: String(o.snapshot) } : {}),
      TagSpecifications: [{ ResourceType: 'volume', Tags: volumeTags(name, this.stackId, options) }],
    });
    this.logger.info({ volume: name, volumeId: volume.VolumeId, zone: volume.AvailabilityZone }, 'created EBS volume');
    return this.toProviderVolume(volume);
  }

  async remove(name: string): Promise<void> {
    const { volumes } = this.ready();
    const all = await volumes.findAll(name);
    if (all.length === 0) throw StowageError.notFound(`volume "${name}" not found`);
    for (const volume of all) {
      const holder = attachment(volume)?.InstanceId;
      if (holder !== undefined) {
        throw StowageError.inUse(
          `volume "${name}" (${volume.VolumeId}) is attached to instance ${holder}; unmount it there before removing it`,
        );
      }
    }
    for (const volume of all) await volumes.delete(volume.VolumeId as string);
    this.logger.info({ volume: name, volumeIds: all.map((v) => v.VolumeId) }, 'deleted EBS volume');
  }

  async inspect(name: string): Promise<ProviderVolume | undefined> {
    const volume = await this.ready().volumes.find(name);
    return volume ? this.toProviderVolume(volume) : undefined;
  }

  async list(): Promise<ProviderVolume[]> {
    const byName = new Map<string, Volume>();
    for (const volume of await this.ready().volumes.listAll()) {
      const name = tagValue(volume.Tags, VOLUME_NAME_TAG);
      if (name === undefined) continue;
      const known = byName.get(name);
      // Oldest wins, as in find: a lost create race must not show a name twice.
      if (!known || oldestFirst(volume, known) < 0) byName.set(name, volume);
    }
    return [...byName.values()].map((v) => this.toProviderVolume(v));
  }

  async mount(name: string): Promise<MountResult> {
    const { volumes, node } = this.ready();
    let volume = await volumes.find(name);
    if (volume === undefined) throw StowageError.notFound(`volume "${name}" not found`);
    const volumeId = volume.VolumeId as string;
    if (volume.AvailabilityZone !== node.availabilityZone) {
      throw StowageError.backendFailure(
        `volume "${name}" (${volumeId}) is in availability zone ${volume.AvailabilityZone} and this node is in ` +
          `${node.availabilityZone}: relocation across zones is not yet supported; run the task in ${volume.AvailabilityZone}`,
      );
    }
    const current = attachment(volume);
    if (current?.InstanceId !== undefined && current.InstanceId !== node.instanceId) {
      throw StowageError.inUse(
        `volume "${name}" (${volumeId}) is attached to instance ${current.InstanceId}; release it there first ` +
          '(a relocatable volume is never attached to two instances at once)',
      );
    }
    if (volume.State === 'creating') await volumes.waitAvailable(volumeId, `volume "${name}" being created`);

    let attachedHere = false;
    let device = current?.Device;
    if (current === undefined) {
      ({ volume, device } = await this.attach(volumeId));
      attachedHere = true;
    }
    try {
      return { path: await this.mountDevice(name, volume, device) };
    } catch (error) {
      // Leave nothing attached that this call attached and could not use: the volume stays free for any node.
      if (attachedHere) await volumes.detach(volumeId, node.instanceId).catch(() => undefined);
      throw error;
    }
  }

  async unmount(name: string): Promise<void> {
    const { volumes, node } = this.ready();
    const target = this.mountpoint(name);
    await this.deps.host.unmount(target);
    await rmdir(target).catch(() => undefined);
    for (const volume of await volumes.findAll(name)) {
      if (attachment(volume)?.InstanceId === node.instanceId) {
        await volumes.detach(volume.VolumeId as string, node.instanceId);
        this.logger.info({ volume: name, volumeId: volume.VolumeId }, 'detached EBS volume');
      }
    }
  }

  /** Releases this cluster's volumes attached to this instance that no caller holds (a crash mid-mount left them). */
  async reconcile(held: ReadonlySet<string>): Promise<void> {
    const { volumes, node } = this.ready();
    const attached = await volumes.listAll([{ Name: 'attachment.instance-id', Values: [node.instanceId] }]);
    for (const volume of attached) {
      const name = tagValue(volume.Tags, VOLUME_NAME_TAG);
      if (name === undefined || held.has(name)) continue;
      try {
        await this.unmount(name);
        this.logger.warn({ volume: name, volumeId: volume.VolumeId }, 'released an EBS volume attached to this node that nobody holds');
      } catch (error) {
        this.logger.error({ volume: name, volumeId: volume.VolumeId, err: (error as Error).message }, 'could not release a leftover EBS volume');
      }
    }
  }

  private async attach(volumeId: string): Promise<{ volume: Volume; device: string }> {
    const { volumes, node } = this.ready();
    for (let attempt = 1; attempt <= ATTACH_ATTEMPTS; attempt++) {
      const reservation = await this.devices.reserve(async () => ({
        devices: (await volumes.attachedTo(node.instanceId)).flatMap((v) => (v.Attachments ?? []).map((a) => a.Device ?? '')),
      }));
      try {
        const outcome = await volumes.attach(volumeId, node.instanceId, reservation.device);
        if (outcome === 'device-in-use') {
          this.logger.warn({ volumeId, device: reservation.device }, 'EC2 reports the device name in use; trying another');
          this.devices.avoid(reservation.device);
          continue;
        }
        const volume = await volumes.waitAttached(volumeId, node.instanceId);
        this.logger.info({ volumeId, device: reservation.device }, 'attached EBS volume');
        return { volume, device: reservation.device };
      } finally {
        reservation.release();
      }
    }
    throw StowageError.backendFailure(`cannot attach EBS volume ${volumeId}: EC2 refused ${ATTACH_ATTEMPTS} device names as in use; retry`);
  }

  private async mountDevice(name: string, volume: Volume, requested: string | undefined): Promise<string> {
    const { host } = this.deps;
    const volumeId = volume.VolumeId as string;
    const target = this.mountpoint(name);
    const device = await this.finder.find(volumeId, requested);

    const existing = (await host.listMounts(target)).find((m) => m.target === target);
    if (existing) {
      if (existing.source === device.path) return target;
      throw StowageError.backendFailure(
        `${target} has ${existing.source} mounted, not volume "${name}" (${device.path}); unmount it by hand and retry`,
      );
    }
    const found = await host.probeFilesystem(device.path);
    const fstype = found ?? optionsFromTags(volume.Tags).fstype ?? this.settings.fsType;
    if (found === undefined) {
      this.logger.info({ volume: name, volumeId, device: device.path, fstype }, 'formatting blank EBS volume');
      await host.mkfs(device.path, fstype);
    }
    await host.mount(device.path, target, { fstype });
    return target;
  }

  private mountpoint(name: string): string {
    return join(this.mountRoot, name);
  }

  private ready(): { client: EC2Client; volumes: EbsVolumes; node: NodeIdentity } {
    if (!this.state) throw StowageError.backendFailure('the ebs backing is not started (init was not called or failed)');
    return this.state;
  }

  private toProviderVolume(volume: Volume): ProviderVolume {
    const attached = attachment(volume);
    return {
      name: tagValue(volume.Tags, VOLUME_NAME_TAG) as string,
      ...(volume.CreateTime ? { createdAt: volume.CreateTime } : {}),
      options: optionsFromTags(volume.Tags),
      status: {
        volumeId: volume.VolumeId,
        availabilityZone: volume.AvailabilityZone,
        state: volume.State,
        sizeGiB: volume.Size,
        type: volume.VolumeType,
        ...(attached ? { attachedTo: attached.InstanceId, attachment: attached.State, device: attached.Device } : {}),
      },
    };
  }
}

/** The volume's current attachment, if any (a detached one no longer counts). */
function attachment(volume: Volume) {
  return volume.Attachments?.find((a) => a.State !== 'detached');
}
