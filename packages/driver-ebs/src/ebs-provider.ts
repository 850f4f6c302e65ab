import { rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { EC2Client, type Volume, type VolumeType } from '@aws-sdk/client-ec2';
import { observeCloudCalls, resolveNodeIdentity, type MetadataReader, type NodeIdentity } from '@stowage/aws-node';
import {
  NO_TELEMETRY,
  StowageError,
  VolumeAnswers,
  formatOptionValues,
  type CreateRequest,
  type HostOperations,
  type Logger,
  type MountResult,
  type NodeFacts,
  type ProviderVolume,
  type SizeOption,
  type StorageProvider,
  type VolumeEventSink,
  type StowageTelemetry,
  type VolumeHandle,
  type VolumeScope,
} from '@stowage/core';
import { BlockDeviceFinder } from './block-device-finder.js';
import { CALL_BUDGETS_MS, DETACH_WAIT_MS, Deadline, type CallBudgets } from './call-budget.js';
import { VOLUME_NAME_TAG, optionsFromTags, stackIdFor, tagValue, volumeTags } from './cluster-tags.js';
import { CrossZoneMove } from './cross-zone-move.js';
import { EBS_BACKING } from './ebs-backing.js';
import { DeviceNameAllocator } from './device-name-allocator.js';
import { EBS_SIZE, ebsCreateOptions, validateEbsRequest, type EbsOptions } from './ebs-options.js';
import type { EbsSettings } from './ebs-settings.js';
import { ebsFailpoint } from './ebs-failpoints.js';
import { EbsSnapshots } from './ebs-snapshots.js';
import { DEFAULT_WAIT_TIMING, EbsVolumes, oldestFirst, type WaitTiming } from './ebs-volumes.js';
import { answeringVolumes, moveClaimOf, movedFromOf } from './move-tags.js';
import { MoveTracker, describeMove } from './move-tracker.js';
import { DEFAULT_NODE_READINESS_TIMING, NodeReadiness, type NodeReadinessTiming } from './node-readiness.js';
import { SnapshotSchedule, type SnapshotRunSummary } from './snapshot-schedule.js';
import { instanceState, mayTakeOver } from './takeover-policy.js';

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
  /** Where moves and periodic snapshots are reported (`DriverContext.events`); nowhere by default. */
  readonly events?: VolumeEventSink;
  /** Told of every call the EC2 client makes (see `observeCloudCalls`); nowhere by default. */
  readonly telemetry?: StowageTelemetry;
  /** Instance metadata, asked only for identity settings left unset. */
  readonly metadata?: () => MetadataReader;
  readonly timing?: Partial<WaitTiming> & {
    readonly deviceTimeoutMs?: number;
    readonly snapshotPollMs?: number;
    /** Each call's budget, in milliseconds; the defaults fit the Docker engine's deadlines (see {@link CallBudgets}). */
    readonly budgets?: Partial<CallBudgets>;
    /** How often {@link EbsProvider.checkReady} asks EC2, and for how long (see {@link NodeReadinessTiming}). */
    readonly readiness?: Partial<NodeReadinessTiming>;
  };
}

/** What the provider holds once started: its EC2 client and what works through it. */
interface Started {
  readonly client: EC2Client;
  readonly volumes: EbsVolumes;
  readonly snapshots: EbsSnapshots;
  readonly mover: CrossZoneMove;
  readonly schedule: SnapshotSchedule;
  readonly node: NodeIdentity;
  readonly readiness: NodeReadiness;
}

/**
 * Relocatable volumes on Amazon EBS (backing `ebs`, alias `relocatable`, scope `global`).
 *
 * EC2 is the catalogue: a volume is the EBS volume tagged with its name and this cluster's StackID, so any node lists,
 * inspects and removes any of them. Mounting attaches the volume to this instance, verifies the block device is that
 * volume, formats it only if it holds no file system, and mounts it; unmounting detaches it again so another node
 * can take it. A volume attached to another instance is refused (never shared, never replaced by a fresh one)
 * unless the takeover policy allows detaching it there. A volume in another zone is moved here by snapshot
 * ({@link CrossZoneMove}), in the background when it takes longer than a Mount may wait.
 */
export class EbsProvider implements StorageProvider<EbsOptions> {
  readonly name = EBS_BACKING;
  readonly aliases = ['relocatable'] as const;
  readonly scope: VolumeScope = 'global';
  readonly options: ReturnType<typeof ebsCreateOptions>;
  readonly size: SizeOption = EBS_SIZE;

  private readonly stackId: string;
  private readonly mountRoot: string;
  private readonly devices: DeviceNameAllocator;
  private readonly finder: BlockDeviceFinder;
  private readonly logger: Logger;
  private readonly timing: WaitTiming;
  private readonly budgets: CallBudgets;
  private readonly moves: MoveTracker<Volume>;
  /** Every volume of the name, as the DescribeVolumes behind each inspect answer found them (see {@link named}). */
  private readonly answers = new VolumeAnswers<Volume[]>();
  private state: Started | undefined;

  constructor(
    private readonly settings: EbsSettings,
    private readonly deps: EbsProviderDependencies,
  ) {
    this.options = ebsCreateOptions(settings.fsType);
    this.stackId = stackIdFor(settings.clusterId);
    this.mountRoot = settings.mountRoot ?? join(deps.stateDir, 'drivers', 'ebs', 'mounts');
    this.logger = deps.logger;
    this.timing = { ...DEFAULT_WAIT_TIMING, ...deps.timing };
    this.budgets = { ...CALL_BUDGETS_MS, ...deps.timing?.budgets };
    this.devices = new DeviceNameAllocator(settings.attachLimit);
    this.moves = new MoveTracker(this.logger, this.timing.progressLogMs, deps.events);
    this.finder = new BlockDeviceFinder(
      {
        deviceDir: settings.deviceDir,
        sysfsRoot: settings.sysfsRoot,
        ...(deps.timing?.deviceTimeoutMs ? { timeoutMs: deps.timing.deviceTimeoutMs } : {}),
        ...(this.timing.progressLogMs ? { progressLogMs: this.timing.progressLogMs } : {}),
      },
      this.logger,
    );
  }

  /** This node's place in EC2, once {@link init} has run. */
  get node(): NodeIdentity | undefined {
    return this.state?.node;
  }

  /**
   * The instance, its attach limit, and its zone and region. A volume is bound to its region only: one in another
   * zone of the region is moved here by snapshot when a node of this zone mounts it.
   */
  nodeFacts(): NodeFacts {
    const { node } = this.ready();
    return {
      nodeId: node.instanceId,
      maxVolumes: this.settings.attachLimit,
      topology: { region: node.region, zone: node.availabilityZone },
      volumeTopology: ['region'],
    };
  }

  validate(request: CreateRequest): void {
    validateEbsRequest(request);
  }

  /** Snapshots every volume attached to this node now and prunes old periodic snapshots: one pass of the schedule. */
  snapshotAttachedVolumes(): Promise<SnapshotRunSummary> {
    return this.ready().schedule.runOnce();
  }

  /** Learns this node's identity and proves the EC2 API answers (credentials, endpoint) before serving anything. */
  async init(): Promise<void> {
    const { region, instanceId, availabilityZone } = this.settings;
    const node = await resolveNodeIdentity(
      { region, instanceId, availabilityZone },
      ['instanceId', 'availabilityZone', 'region'],
      {
        driver: this.name,
        ...(this.deps.metadata ? { reader: this.deps.metadata() } : {}),
      },
    );
    const client = this.deps.ec2 ? this.deps.ec2(node.region) : new EC2Client({ region: node.region });
    observeCloudCalls(client, this.deps.telemetry ?? NO_TELEMETRY);
    const volumes = new EbsVolumes(client, this.settings.clusterId, this.stackId, this.logger, this.timing);
    try {
      await volumes.attachedTo(node.instanceId);
    } catch (error) {
      client.destroy();
      throw StowageError.wrap(
        error,
        `the EC2 API in ${node.region} does not answer; check credentials and AWS_ENDPOINT_URL`,
      );
    }
    const snapshots = new EbsSnapshots(client, this.stackId, this.logger, {
      ...(this.deps.timing?.snapshotPollMs
        ? { minDelayMs: this.deps.timing.snapshotPollMs, maxDelayMs: this.deps.timing.snapshotPollMs }
        : {}),
    });
    const mover = new CrossZoneMove(client, volumes, snapshots, this.logger, this.timing.availableSeconds * 1000);
    const schedule = new SnapshotSchedule(
      snapshots,
      {
        intervalMinutes: this.settings.snapshotIntervalMinutes,
        retain: this.settings.snapshotRetain,
        attachedHere: () => volumes.listAll([{ Name: 'attachment.instance-id', Values: [node.instanceId] }]),
      },
      this.logger,
      this.deps.events,
    );
    const readiness = new NodeReadiness(client, node, {
      ...DEFAULT_NODE_READINESS_TIMING,
      ...this.deps.timing?.readiness,
    });
    this.state = { client, volumes, snapshots, mover, schedule, node, readiness };
    schedule.start();
    this.logger.info({ ...node, stackId: this.stackId }, 'ebs backing ready');
  }

  /**
   * Ready while EC2 answers DescribeInstances of this node's instance with this node's credentials and the instance
   * runs: asked at most every 30 s, each call abandoned after 4 s (see {@link NodeReadiness}).
   */
  async checkReady(): Promise<void> {
    await this.ready().readiness.check();
  }

  async close(): Promise<void> {
    await this.state?.schedule.stop();
    await this.moves.close();
    this.state?.client.destroy();
    this.state = undefined;
  }

  async create(request: CreateRequest<EbsOptions>): Promise<ProviderVolume> {
    const { volumes, node } = this.ready();
    const { name } = request;
    const options = formatOptionValues(request.options);
    const o = request.options;
    const deadline = new Deadline(this.budgets.create);
    const volume = await volumes.create(
      name,
      node.availabilityZone,
      {
        Size: Number(o.size),
        VolumeType: String(o.ebstype) as VolumeType,
        ...(o.iops !== undefined ? { Iops: Number(o.iops) } : {}),
        ...(o.throughput !== undefined ? { Throughput: Number(o.throughput) } : {}),
        Encrypted: o.encrypted === true,
        ...(o.kmskeyid !== undefined ? { KmsKeyId: String(o.kmskeyid) } : {}),
        ...(o.snapshot !== undefined ? { SnapshotId: String(o.snapshot) } : {}),
        TagSpecifications: [{ ResourceType: 'volume', Tags: volumeTags(name, this.stackId, options) }],
      },
      deadline,
    );
    this.logger.info({ volume: name, volumeId: volume.VolumeId, zone: volume.AvailabilityZone }, 'created EBS volume');
    return this.toProviderVolume(volume);
  }

  async remove(handle: VolumeHandle): Promise<void> {
    const { name } = handle;
    const { snapshots, volumes } = this.ready();
    const deadline = new Deadline(this.budgets.remove);
    // A move running here may make its copy after the engine's lookup: then only a lookup after the cancel sees it.
    const movingHere = this.moves.progress(name) !== undefined;
    // A move running here would otherwise make its copy again after the delete.
    await this.moves.cancel(name, deadline.remainingMs());
    const all = movingHere ? await volumes.findAll(name) : await this.named(handle);
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
    const snapshotCount = await snapshots.deleteAllFor(name);
    this.logger.info(
      { volume: name, volumeIds: all.map((v) => v.VolumeId), snapshots: snapshotCount },
      'deleted EBS volume and its snapshots',
    );
  }

  async inspect(name: string): Promise<ProviderVolume | undefined> {
    const named = await this.ready().volumes.findAll(name);
    // As in list: a move's copy does not answer while its source exists, and a lost create race shows the oldest.
    const [answering] = answeringVolumes(named);
    return answering ? this.answers.answer(this.toProviderVolume(answering), named) : undefined;
  }

  async list(): Promise<ProviderVolume[]> {
    const byName = new Map<string, Volume[]>();
    for (const volume of await this.ready().volumes.listAll()) {
      const name = tagValue(volume.Tags, VOLUME_NAME_TAG);
      if (name === undefined) continue;
      byName.set(name, [...(byName.get(name) ?? []), volume]);
    }
    // As in locate: a move's copy does not answer while its source exists, and a lost create race shows the oldest.
    return [...byName.values()].flatMap((named) => {
      const [answering] = answeringVolumes(named.sort(oldestFirst));
      return answering ? [this.toProviderVolume(answering)] : [];
    });
  }

  async mount(handle: VolumeHandle): Promise<MountResult> {
    const { name } = handle;
    const { volumes, node } = this.ready();
    const deadline = new Deadline(this.budgets.mount);
    const named = await this.named(handle);
    const [found] = answeringVolumes(named);
    if (found === undefined) throw StowageError.notFound(`volume "${name}" not found`);
    // A move of this volume was started and did not finish (a claim, or a copy that does not answer yet).
    const moveLeftovers =
      moveClaimOf(found) !== undefined || named.some((v) => movedFromOf(v)?.sourceVolumeId === found.VolumeId);
    let volume = await this.bringHere(name, found, deadline);
    const volumeId = volume.VolumeId as string;
    if (volume.State === 'creating')
      volume = await volumes.waitAvailable(volumeId, `volume "${name}"`, { boundMs: deadline.remainingMs() });

    let attachedHere = false;
    let current = attachment(volume);
    if (current?.InstanceId === node.instanceId && current.State === 'detaching') {
      // A release of this node's that had not finished (an unmount, or the clean-up of a failed mount): let it end.
      await volumes.waitDetached(volumeId, node.instanceId, deadline.remainingMs());
      volume = await volumes.describe(volumeId);
      current = attachment(volume);
    }
    let device = current?.Device;
    if (current === undefined) {
      ({ volume, device } = await this.attach(volumeId, deadline));
      attachedHere = true;
    } else if (current.State === 'attaching') {
      volume = await volumes.waitAttached(volumeId, node.instanceId, deadline, current.AttachTime?.getTime());
    }
    let leftovers = moveLeftovers && volume.VolumeId === found.VolumeId;
    try {
      // Read after the attach: a node of another zone may have claimed the volume for a move after this call read it.
      // Attached, the volume cannot be deleted; without its claim, no move will delete it once it is released either.
      if (moveClaimOf(volume)) {
        volume = await this.ready().mover.abandon(name, volume);
        leftovers = true;
      }
      const path = await this.mountDevice(name, volume, device, deadline);
      if (leftovers) {
        await this.ready()
          .mover.sweepAbandoned(name, volume)
          .catch((error: unknown) =>
            this.logger.warn(
              { volume: name, err: (error as Error).message },
              'could not delete what an abandoned move left; a later mount retries',
            ),
          );
      }
      // The volume attached may be another than the one looked up (a move made it here): the Unmount gets its id.
      return { path, ref: volume.VolumeId as string };
    } catch (error) {
      // Leave nothing attached that this call attached and could not use: the volume stays free for any node. The
      // detach goes on in EC2 past the budget; the engine's clean-up, or the next mount here, waits for its end.
      if (attachedHere)
        await volumes.detach(volumeId, node.instanceId, { boundMs: deadline.remainingMs() }).catch(() => undefined);
      throw error;
    }
  }

  /**
   * By name, not by {@link VolumeHandle.ref}: it costs one DescribeVolumes either way, and only the name finds every
   * volume of it attached here, a move's copy included when a crash cut the Mount that made it short.
   */
  async unmount({ name }: VolumeHandle): Promise<void> {
    const { volumes, node } = this.ready();
    const deadline = new Deadline(this.budgets.unmount);
    const target = this.mountpoint(name);
    await this.deps.host.unmount(target);
    await rmdir(target).catch(() => undefined);
    for (const volume of await volumes.findAll(name)) {
      if (attachment(volume)?.InstanceId === node.instanceId) {
        await volumes.detach(volume.VolumeId as string, node.instanceId, { boundMs: deadline.bound(DETACH_WAIT_MS) });
        this.logger.info({ volume: name, volumeId: volume.VolumeId }, 'detached EBS volume');
      }
    }
  }

  /**
   * Every live volume of the handle's name: as the inspect the engine made for this call found them (one DescribeVolumes
   * per Mount or Remove, not two), else looked up now. Never from the ref alone: which volume answers for a name
   * (a move's copy, a lost create race's twin) is decided among all of them.
   */
  private async named(handle: VolumeHandle): Promise<Volume[]> {
    return this.answers.of(handle) ?? (await this.ready().volumes.findAll(handle.name));
  }

  /**
   * Makes `volume` attachable here, within `deadline`: finishes a move stopped before its last step, waits for a
   * holder's detach under way to end, takes the volume from another instance if the takeover policy allows it, moves
   * it here from another zone, or takes it back from a move to another zone that its task no longer needs.
   */
  private async bringHere(name: string, found: Volume, deadline: Deadline): Promise<Volume> {
    const { mover, node, volumes } = this.ready();
    const here = node.availabilityZone;
    let volume = found;
    if (movedFromOf(volume)) volume = await mover.finish(name, volume);
    let held = attachment(volume);
    if (held !== undefined && held.InstanceId !== node.instanceId && held.State === 'detaching') {
      // The holder is letting it go (its task ended there): wait for that rather than refuse.
      await this.waitReleased(name, volume, held.InstanceId as string, deadline);
      volume = await volumes.describe(volume.VolumeId as string);
      held = attachment(volume);
    }
    const holder = held?.InstanceId;
    if (holder !== undefined && holder !== node.instanceId)
      volume = await this.takeOver(name, volume, holder, deadline);
    if (volume.AvailabilityZone !== here) {
      const source = volume;
      const route = { from: source.AvailabilityZone as string, to: here };
      // The move goes on past this call's wait; whatever the setting, the wait never outlasts the Mount's budget.
      const waitMs = deadline.bound(this.settings.moveWaitSeconds * 1000);
      return this.moves.run(name, route, (report, signal) => mover.move(name, source, here, report, signal), waitMs);
    }
    if (moveClaimOf(volume)) volume = await mover.abandon(name, volume);
    return volume;
  }

  /** Waits within `deadline` until `holder` has finished detaching `volume`; past it, refuses naming the holder. */
  private async waitReleased(name: string, volume: Volume, holder: string, deadline: Deadline): Promise<void> {
    const volumeId = volume.VolumeId as string;
    try {
      await this.ready().volumes.waitDetached(volumeId, holder, deadline.remainingMs());
    } catch (error) {
      throw StowageError.inUse(
        `volume "${name}" (${volumeId}) is still being detached from instance ${holder} after ${deadline.elapsedSeconds()} s; retry shortly`,
        error,
      );
    }
  }

  /** Detaches `volume` from `holder` for this node if the takeover policy allows it; refuses naming the holder otherwise. */
  private async takeOver(name: string, volume: Volume, holder: string, deadline: Deadline): Promise<Volume> {
    const { client, volumes } = this.ready();
    const volumeId = volume.VolumeId as string;
    const policy = this.settings.takeover;
    const state = policy === 'never' ? undefined : await instanceState(client, holder);
    if (state === undefined || !mayTakeOver(policy, state)) {
      throw StowageError.inUse(
        `volume "${name}" (${volumeId}) is attached to instance ${holder}${state ? ` (${state})` : ''}; release it there first ` +
          `(a relocatable volume is never attached to two instances at once; takeover policy "${policy}")`,
      );
    }
    this.logger.warn(
      { volume: name, volumeId, holder, holderState: state, policy },
      'taking EBS volume from its holder',
    );
    try {
      await volumes.detach(volumeId, holder, { force: true, boundMs: deadline.remainingMs() });
    } catch (error) {
      throw StowageError.backendFailure(
        `volume "${name}" (${volumeId}) is being taken from instance ${holder} (${state}) and is still detaching there after ` +
          `${deadline.elapsedSeconds()} s; retry shortly`,
        error,
      );
    }
    return volumes.describe(volumeId);
  }

  /** Releases this cluster's volumes attached to this instance that no caller holds (a crash mid-mount left them). */
  async reconcile(held: ReadonlySet<string>): Promise<void> {
    const { volumes, node } = this.ready();
    const attached = await volumes.listAll([{ Name: 'attachment.instance-id', Values: [node.instanceId] }]);
    for (const volume of attached) {
      const name = tagValue(volume.Tags, VOLUME_NAME_TAG);
      if (name === undefined || held.has(name)) continue;
      try {
        await this.unmount({ name });
        this.logger.warn(
          { volume: name, volumeId: volume.VolumeId },
          'released an EBS volume attached to this node that nobody holds',
        );
      } catch (error) {
        this.logger.error(
          { volume: name, volumeId: volume.VolumeId, err: (error as Error).message },
          'could not release a leftover EBS volume',
        );
      }
    }
  }

  private async attach(volumeId: string, deadline: Deadline): Promise<{ volume: Volume; device: string }> {
    const { volumes, node } = this.ready();
    for (let attempt = 1; attempt <= ATTACH_ATTEMPTS; attempt++) {
      const reservation = await this.devices.reserve(async () => ({
        devices: (await volumes.attachedTo(node.instanceId)).flatMap((v) =>
          (v.Attachments ?? []).map((a) => a.Device ?? ''),
        ),
      }));
      try {
        const outcome = await volumes.attach(volumeId, node.instanceId, reservation.device);
        ebsFailpoint('ebs:mount:after-attach-request');
        if (outcome === 'device-in-use') {
          this.logger.warn(
            { volumeId, device: reservation.device },
            'EC2 reports the device name in use; trying another',
          );
          this.devices.avoid(reservation.device);
          continue;
        }
        const volume = await volumes.waitAttached(volumeId, node.instanceId, deadline);
        this.logger.info({ volumeId, device: reservation.device }, 'attached EBS volume');
        return { volume, device: reservation.device };
      } finally {
        reservation.release();
      }
    }
    throw StowageError.backendFailure(
      `cannot attach EBS volume ${volumeId}: EC2 refused ${ATTACH_ATTEMPTS} device names as in use; retry`,
    );
  }

  private async mountDevice(
    name: string,
    volume: Volume,
    requested: string | undefined,
    deadline: Deadline,
  ): Promise<string> {
    const { host } = this.deps;
    const volumeId = volume.VolumeId as string;
    const target = this.mountpoint(name);
    const device = await this.finder.find(volumeId, requested, deadline.remainingMs());

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
      ebsFailpoint('ebs:mount:before-format');
      this.logger.info({ volume: name, volumeId, device: device.path, fstype }, 'formatting blank EBS volume');
      await host.mkfs(device.path, fstype);
    }
    await host.mount(device.path, target, { fstype });
    return target;
  }

  private mountpoint(name: string): string {
    return join(this.mountRoot, name);
  }

  private ready(): Started {
    if (!this.state)
      throw StowageError.backendFailure('the ebs backing is not started (init was not called or failed)');
    return this.state;
  }

  /** A move of the volume: how far it is when it runs on this node, else where it is claimed to go. */
  private moveStatus(volume: Volume): Record<string, string> {
    const name = tagValue(volume.Tags, VOLUME_NAME_TAG) as string;
    const progress = this.moves.progress(name);
    if (progress) return { move: describeMove(progress) };
    const claim = moveClaimOf(volume);
    return claim ? { move: `moving to ${claim.zone}` } : {};
  }

  private toProviderVolume(volume: Volume): ProviderVolume {
    const attached = attachment(volume);
    return {
      name: tagValue(volume.Tags, VOLUME_NAME_TAG) as string,
      ref: volume.VolumeId as string,
      ...(volume.CreateTime ? { createdAt: volume.CreateTime } : {}),
      options: optionsFromTags(volume.Tags),
      status: {
        volumeId: volume.VolumeId,
        availabilityZone: volume.AvailabilityZone,
        state: volume.State,
        sizeGiB: volume.Size,
        type: volume.VolumeType,
        ...(attached ? { attachedTo: attached.InstanceId, attachment: attached.State, device: attached.Device } : {}),
        ...this.moveStatus(volume),
      },
    };
  }
}

/** The volume's current attachment, if any (a detached one no longer counts). */
function attachment(volume: Volume) {
  return volume.Attachments?.find((a) => a.State !== 'detached');
}
