import { statfs } from 'node:fs/promises';
import type { VolumeUsage } from './generated/csi/v1/VolumeUsage.js';

/**
 * Bytes and inodes of the file system that holds `path`, as NodeGetVolumeStats reports them. For a backing whose
 * volumes are directories on a shared file system (local) these are that file system's figures, not the volume's
 * own: there is nothing smaller to measure without walking the tree, which a CO polling every volume cannot afford.
 */
export async function volumeUsage(path: string): Promise<VolumeUsage[]> {
  // bigint: block counts times block size exceed 2^53 on large file systems, and the proto carries int64 strings.
  const fs = await statfs(path, { bigint: true });
  return [
    {
      unit: 'BYTES',
      total: String(fs.blocks * fs.bsize),
      available: String(fs.bavail * fs.bsize),
      used: String((fs.blocks - fs.bfree) * fs.bsize),
    },
    { unit: 'INODES', total: String(fs.files), available: String(fs.ffree), used: String(fs.files - fs.ffree) },
  ];
}
