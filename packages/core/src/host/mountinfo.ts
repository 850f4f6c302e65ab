import { StowageError } from '../errors/stowage-error.js';
import type { MountEntry } from './host-operations.js';

/** The kernel escapes space, tab, newline and backslash (and some kernels `#`) in mountinfo as `\ooo`. */
const OCTAL_ESCAPE = /\\([0-7]{3})/g;

function unescapeMountField(field: string): string {
  return field.replace(OCTAL_ESCAPE, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

/**
 * Parses the kernel's mount table in `/proc/self/mountinfo` format (see proc(5)), one {@link MountEntry} per line,
 * in the kernel's order (a mount stacked on another comes after it).
 *
 * Each line reads `id parent major:minor root mountpoint mount-options [optional fields...] - fstype source
 * super-options`; paths are unescaped and the per-mount and super-block options are merged, per-mount first,
 * without duplicates.
 *
 * @throws StowageError BackendFailure when a line does not have that shape: a table we cannot read must not be
 *   taken for "nothing is mounted".
 */
export function parseMountInfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  const lines = text.split('\n');
  for (const [index, line] of lines.entries()) {
    if (line.trim() === '') continue;
    // Split on single spaces, not runs: the kernel prints an empty source (`mount "" /x`) as an empty field.
    const fields = line.split(' ');
    const separator = fields.indexOf('-', 6);
    const root = fields[3];
    const target = fields[4];
    const mountOptions = fields[5];
    const fstype = fields[separator + 1];
    const source = fields[separator + 2];
    if (
      separator < 0 ||
      root === undefined ||
      target === undefined ||
      mountOptions === undefined ||
      fstype === undefined ||
      source === undefined
    ) {
      throw StowageError.backendFailure(
        `cannot parse line ${index + 1} of the kernel mount table (mountinfo): ${JSON.stringify(line)}`,
      );
    }
    const superOptions = fields[separator + 3] ?? '';
    const options = [...new Set([...splitOptions(mountOptions), ...splitOptions(superOptions)])];
    entries.push({
      source: unescapeMountField(source),
      target: unescapeMountField(target),
      fstype: unescapeMountField(fstype),
      root: unescapeMountField(root),
      options: options.map(unescapeMountField),
    });
  }
  return entries;
}

function splitOptions(options: string): string[] {
  return options.split(',').filter((option) => option !== '');
}
