import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { access, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DescribeSnapshotsCommand, type EC2Client } from '@aws-sdk/client-ec2';

const run = promisify(execFile);
const VOLUME_IMAGE = /^(vol-[0-9a-f]+)\.img$/;

/**
 * The bytes of EBS snapshots, for tests: when moto shows a snapshot of a volume that has an image
 * (`<volume id>.img` in the shared data directory), the image is copied to `<snapshot id>.img`; a volume made from a
 * snapshot starts as a copy of the snapshot's image. Every node's plane watches every snapshot (tags play no part),
 * and whichever sees one first copies it; the copy is written aside and renamed, so two planes never clash.
 *
 * The copy is made when the CreateSnapshot of an in-process provider is answered ({@link capture}, hooked into its
 * client by the test node), so a move's transfer snapshot never goes before its bytes are copied, however slow the
 * machine; snapshots made by other clients (a plugin process, a test's own calls) are copied at the next sync.
 *
 * Limits, against real EBS:
 * - A real snapshot is the volume as it was at CreateSnapshot. moto completes snapshots at once, and the copy is
 *   made right after the call (or at the next sync), so writes in that window may land in it. Tests that write after
 *   a snapshot and expect the writes missing from it must first wait for {@link hasImage}.
 * - As on EBS, what the file system still holds in memory is not in the image: flush it (`sync -f`) first.
 * - A snapshot of a volume that was never attached has no image; a volume made from it starts blank, as it would.
 * - Images outlive their snapshots; the test's data directory is removed as a whole.
 */
export class SnapshotPlane {
  private readonly copied = new Set<string>();

  constructor(
    private readonly client: EC2Client,
    private readonly dataDir: string,
  ) {}

  /** The image holding a volume's or a snapshot's bytes. */
  imageOf(id: string): string {
    return join(this.dataDir, `${id}.img`);
  }

  /** Whether the bytes of `id` (a volume or a snapshot) exist yet. */
  async hasImage(id: string): Promise<boolean> {
    return access(this.imageOf(id)).then(
      () => true,
      () => false,
    );
  }

  /** Copies the image of each snapshot not seen before, for every volume that has an image. */
  async sync(): Promise<void> {
    const volumeIds = (await readdir(this.dataDir)).flatMap((file) => VOLUME_IMAGE.exec(file)?.[1] ?? []);
    if (volumeIds.length === 0) return;
    // Filtered by volume id: moto ignores OwnerIds and would list the snapshots of its stock AMIs too.
    const { Snapshots = [] } = await this.client.send(
      new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: [{ Name: 'volume-id', Values: volumeIds }] }),
    );
    for (const { SnapshotId, VolumeId } of Snapshots) {
      if (SnapshotId === undefined || VolumeId === undefined || this.copied.has(SnapshotId)) continue;
      if (!(await this.hasImage(SnapshotId))) await this.copy(this.imageOf(VolumeId), this.imageOf(SnapshotId));
      this.copied.add(SnapshotId);
    }
  }

  /** Copies the image of `volumeId` as snapshot `snapshotId`'s now, if the volume has one: its CreateSnapshot was just answered. */
  async capture(snapshotId: string, volumeId: string): Promise<void> {
    if (this.copied.has(snapshotId) || (await this.hasImage(snapshotId))) return;
    if (await this.hasImage(volumeId)) await this.copy(this.imageOf(volumeId), this.imageOf(snapshotId));
    this.copied.add(snapshotId);
  }

  /** Starts the image of `volumeId`, made from `snapshotId`, as a copy of the snapshot's; blank if it has none. */
  async restore(volumeId: string, snapshotId: string): Promise<void> {
    // A snapshot taken since the last sync may not be copied yet.
    if (!(await this.hasImage(snapshotId))) await this.sync();
    if (await this.hasImage(snapshotId)) await this.copy(this.imageOf(snapshotId), this.imageOf(volumeId));
  }

  /** Copies keeping holes (images are sparse, mostly empty), under a temporary name first so no reader sees half a copy. */
  private async copy(from: string, to: string): Promise<void> {
    const partial = `${to}.partial-${randomUUID()}`;
    try {
      await run('cp', ['--sparse=always', from, partial]);
      await rename(partial, to);
    } finally {
      await rm(partial, { force: true });
    }
  }
}
