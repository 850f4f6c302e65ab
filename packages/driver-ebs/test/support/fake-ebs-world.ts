import { EC2Client, type Snapshot, type Tag, type Volume } from '@aws-sdk/client-ec2';
import { StowageError, createLogger, type Logger } from '@stowage/core';
import { VOLUME_NAME_TAG, tagValue } from '../../src/cluster-tags.js';
import { CrossZoneMove } from '../../src/cross-zone-move.js';
import {
  SNAPSHOT_PURPOSE_TAG,
  SOURCE_VOLUME_TAG,
  type EbsSnapshots,
  type SnapshotPurpose,
} from '../../src/ebs-snapshots.js';
import { oldestFirst, type EbsVolumes } from '../../src/ebs-volumes.js';
import { answeringVolumes } from '../../src/move-tags.js';
import { awsError } from './fake-ec2.js';

/** A volume of the fake world: EC2's description, and the bytes it holds (a string standing for them). */
type WorldVolume = Volume & { data: string };
type WorldSnapshot = Snapshot & { data: string };

/** An actor's operation, as the world's {@link FakeEbsWorld.gate} sees it before it takes effect. */
export interface Operation {
  readonly actor: string;
  /** `DeleteVolume`, `CreateTags`, `DescribeVolume`... */
  readonly op: string;
  /** The resource it is about (a volume or snapshot id), or the name looked up. */
  readonly target: string;
}

/** Thrown by {@link FakeEbsWorld.gate} to stop an actor dead, as a crash of its node would. */
export class Crash extends Error {
  override readonly name = 'Crash';
}

/**
 * EBS in memory for the cross-zone move's interleaving tests: volumes with tags, attachments and bytes, snapshots that
 * copy those bytes, and every operation of every actor (a node) one atomic step, applied when the world's `gate`
 * lets it go. A test decides the order of the actors' steps through the gate (a fast-check scheduler, or promises it
 * opens by hand), and may crash an actor there. The world is strongly consistent, unlike EC2.
 *
 * It serves CrossZoneMove's dependencies (EbsVolumes, EbsSnapshots and the CreateTags, DeleteTags and CreateVolume
 * calls of an EC2 client) per actor, and the attach, write and detach of a node using the volume.
 */
export class FakeEbsWorld {
  readonly volumes = new Map<string, WorldVolume>();
  readonly snapshots = new Map<string, WorldSnapshot>();
  /** Every step applied, in order: `<actor> <op> <target>`. */
  readonly steps: string[] = [];
  /** The bytes of the last write a node was told succeeded (the first volume's bytes until then). */
  lastAcknowledged = '';
  /** Decides when an actor's operation takes effect; may throw {@link Crash}. At once by default. */
  gate: (operation: Operation) => Promise<void> = async () => undefined;
  /** Runs after every step, e.g. to check an invariant. */
  afterStep: () => void = () => undefined;
  /** When each actor last read each volume, by `<actor> <volume id>`: the step count then. */
  private readonly lastRead = new Map<string, number>();
  /** The step count of each write, by volume id. */
  private readonly writes = new Map<string, number[]>();
  /** Set when a schedule broke the model's physical assumption (see {@link deleteVolume}). */
  impossible: string | undefined;
  private sequence = 0;

  /** Adds volume `name` (id `vol-<name>`-like), detached, in `zone`, holding `data`. */
  addVolume(name: string, zone: string, data: string, extraTags: Record<string, string> = {}): Volume {
    const volume: WorldVolume = {
      VolumeId: `vol-${String(++this.sequence).padStart(4, '0')}`,
      AvailabilityZone: zone,
      State: 'available',
      CreateTime: new Date(Date.UTC(2026, 0, 1) + this.sequence * 1000),
      Size: 1,
      VolumeType: 'gp3',
      Tags: Object.entries({ [VOLUME_NAME_TAG]: name, ...extraTags }).map(([Key, Value]) => ({ Key, Value })),
      Attachments: [],
      data,
    };
    this.volumes.set(volume.VolumeId as string, volume);
    this.lastAcknowledged = data;
    return describe(volume);
  }

  /** The volumes that answer for `name` now, as every node would choose them. */
  answering(name: string): Array<Volume & { data: string }> {
    const named = [...this.volumes.values()]
      .filter((v) => tagValue(v.Tags, VOLUME_NAME_TAG) === name)
      .sort(oldestFirst);
    return answeringVolumes(named) as WorldVolume[];
  }

  /** A CrossZoneMove run by node `actor`, every EC2 call of it a step of this world. */
  moverFor(actor: string, logger: Logger = createLogger({ level: 'silent' })): CrossZoneMove {
    return new CrossZoneMove(this.clientFor(actor), this.volumesFor(actor), this.snapshotsFor(actor), logger, 60_000);
  }

  /** The EbsVolumes calls CrossZoneMove makes, as `actor` makes them. */
  volumesFor(actor: string): EbsVolumes {
    const facade = {
      findAll: (name: string) =>
        this.step(actor, 'DescribeVolumes', name, () =>
          [...this.volumes.values()]
            .filter((v) => tagValue(v.Tags, VOLUME_NAME_TAG) === name)
            .sort(oldestFirst)
            .map((v) => this.read(actor, v)),
        ),
      describeIfExists: (id: string) =>
        this.step(actor, 'DescribeVolume', id, () => {
          const volume = this.volumes.get(id);
          return volume && this.read(actor, volume);
        }),
      waitAvailable: (id: string) =>
        this.step(actor, 'DescribeVolume', id, () => {
          const volume = this.volumes.get(id);
          if (volume === undefined)
            throw StowageError.backendFailure(`EBS volume ${id} was deleted while it was waited for`);
          return this.read(actor, volume);
        }),
      delete: (id: string) => this.step(actor, 'DeleteVolume', id, () => this.deleteVolume(actor, id)),
    };
    return facade as unknown as EbsVolumes;
  }

  /** The EbsSnapshots calls CrossZoneMove makes, as `actor` makes them. Snapshots complete at once. */
  snapshotsFor(actor: string): EbsSnapshots {
    const facade = {
      forVolume: (name: string, filter: { purpose?: SnapshotPurpose; sourceVolumeId?: string } = {}) =>
        this.step(actor, 'DescribeSnapshots', name, () =>
          [...this.snapshots.values()]
            .filter(
              (s) =>
                tagValue(s.Tags, VOLUME_NAME_TAG) === name &&
                (filter.purpose === undefined || tagValue(s.Tags, SNAPSHOT_PURPOSE_TAG) === filter.purpose) &&
                (filter.sourceVolumeId === undefined || tagValue(s.Tags, SOURCE_VOLUME_TAG) === filter.sourceVolumeId),
            )
            .map((s) => structuredClone(s)),
        ),
      create: (volume: Volume, purpose: SnapshotPurpose, extraTags: readonly Tag[] = []) =>
        this.step(actor, 'CreateSnapshot', volume.VolumeId as string, () => {
          const source = this.volumes.get(volume.VolumeId as string);
          if (source === undefined) throw awsError('InvalidVolume.NotFound');
          const snapshot: WorldSnapshot = {
            SnapshotId: `snap-${String(++this.sequence).padStart(4, '0')}`,
            VolumeId: source.VolumeId,
            State: 'completed',
            Progress: '100%',
            Tags: [
              { Key: VOLUME_NAME_TAG, Value: tagValue(source.Tags, VOLUME_NAME_TAG) },
              { Key: SOURCE_VOLUME_TAG, Value: source.VolumeId },
              { Key: SNAPSHOT_PURPOSE_TAG, Value: purpose },
              ...extraTags,
            ],
            data: source.data,
          };
          this.snapshots.set(snapshot.SnapshotId as string, snapshot);
          return structuredClone(snapshot);
        }),
      waitCompleted: (id: string) =>
        this.step(actor, 'DescribeSnapshots', id, () => {
          const snapshot = this.snapshots.get(id);
          if (snapshot === undefined) throw StowageError.backendFailure(`EBS snapshot ${id} is gone`);
          return structuredClone(snapshot);
        }),
      delete: (id: string) =>
        this.step(actor, 'DeleteSnapshot', id, () => {
          this.snapshots.delete(id);
        }),
    };
    return facade as unknown as EbsSnapshots;
  }

  /** Node `actor` attaches volume `id`, as AttachVolume does: refused when it is gone or attached. */
  attach(actor: string, id: string): Promise<void> {
    return this.step(actor, 'AttachVolume', id, () => {
      const volume = this.volumes.get(id);
      if (volume === undefined) throw StowageError.notFound(`EBS volume ${id} does not exist`);
      if (volume.Attachments?.length)
        throw StowageError.inUse(`EBS volume ${id} is attached to ${volume.Attachments[0]?.InstanceId}`);
      volume.Attachments = [{ InstanceId: actor, VolumeId: id, State: 'attached' }];
      volume.State = 'in-use';
    });
  }

  /** Node `actor` writes `data` to volume `id`, attached to it, and is told it succeeded. */
  write(actor: string, id: string, data: string): Promise<void> {
    return this.step(actor, 'Write', id, () => {
      const volume = this.volumes.get(id);
      if (volume?.Attachments?.[0]?.InstanceId !== actor)
        throw new Error(`${actor} writes to ${id}, which is not attached to it`);
      volume.data = data;
      this.writes.set(id, [...(this.writes.get(id) ?? []), this.steps.length]);
      this.lastAcknowledged = data;
    });
  }

  detach(actor: string, id: string): Promise<void> {
    return this.step(actor, 'DetachVolume', id, () => {
      const volume = this.volumes.get(id);
      if (volume?.Attachments?.[0]?.InstanceId !== actor) return;
      volume.Attachments = [];
      volume.State = 'available';
    });
  }

  private clientFor(actor: string): EC2Client {
    const send = (command: unknown): Promise<never> => {
      const { constructor, input } = command as { constructor: { name: string }; input: Record<string, unknown> };
      const op = constructor.name.replace(/Command$/, '');
      const target = ((input.Resources as string[] | undefined) ?? [String(input.SnapshotId ?? '')]).join(',');
      return this.step(actor, op, target, () => this.call(op, input)) as Promise<never>;
    };
    return new (class extends EC2Client {
      override send(command: unknown): Promise<never> {
        return send(command);
      }
    })({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  }

  private call(op: string, input: Record<string, unknown>): unknown {
    switch (op) {
      case 'CreateTags':
      case 'DeleteTags': {
        for (const id of input.Resources as string[]) {
          const volume = this.volumes.get(id);
          if (volume === undefined) throw awsError('InvalidVolume.NotFound', `The volume '${id}' does not exist.`);
          const change = input.Tags as Tag[];
          const kept = (volume.Tags ?? []).filter((t) => !change.some((c) => c.Key === t.Key));
          volume.Tags = op === 'CreateTags' ? [...kept, ...change.map((t) => ({ ...t }))] : kept;
        }
        return {};
      }
      case 'CreateVolume': {
        const snapshot = this.snapshots.get(input.SnapshotId as string);
        if (snapshot === undefined) throw awsError('InvalidSnapshot.NotFound');
        const volume: WorldVolume = {
          VolumeId: `vol-${String(++this.sequence).padStart(4, '0')}`,
          AvailabilityZone: input.AvailabilityZone as string,
          State: 'available',
          CreateTime: new Date(Date.UTC(2026, 0, 1) + this.sequence * 1000),
          Size: input.Size as number,
          VolumeType: input.VolumeType as Volume['VolumeType'],
          SnapshotId: snapshot.SnapshotId,
          Tags: structuredClone((input.TagSpecifications as Array<{ Tags: Tag[] }>)[0]?.Tags ?? []),
          Attachments: [],
          data: snapshot.data,
        };
        this.volumes.set(volume.VolumeId as string, volume);
        return describe(volume);
      }
      default:
        throw new Error(`the fake EBS world does not know ${op}`);
    }
  }

  /**
   * DeleteVolume, refused while attached. The model's one physical assumption is checked here: a node cannot attach
   * a volume, write to it and detach it again between another node's read of that volume and its DeleteVolume one
   * API round trip later (EC2 takes seconds to attach and to detach). A schedule that does it is marked impossible.
   */
  private deleteVolume(actor: string, id: string): boolean {
    const volume = this.volumes.get(id);
    if (volume === undefined) return false;
    if (volume.Attachments?.length) throw StowageError.inUse(`EBS volume ${id} is attached; release it first`);
    const read = this.lastRead.get(`${actor} ${id}`) ?? -1;
    if ((this.writes.get(id) ?? []).some((step) => step > read)) {
      this.impossible ??= `a write to ${id} happened between ${actor}'s last read of it and its DeleteVolume`;
    }
    this.volumes.delete(id);
    return true;
  }

  private read(actor: string, volume: WorldVolume): Volume {
    this.lastRead.set(`${actor} ${volume.VolumeId}`, this.steps.length);
    return describe(volume);
  }

  private async step<T>(actor: string, op: string, target: string, apply: () => T): Promise<T> {
    await this.gate({ actor, op, target });
    this.steps.push(`${actor} ${op} ${target}`);
    try {
      return apply();
    } finally {
      this.afterStep();
    }
  }
}

/** What EC2 would describe: the volume without its bytes, a copy the caller may change. */
function describe(volume: WorldVolume): Volume {
  const { data: _, ...described } = structuredClone(volume);
  return described;
}
