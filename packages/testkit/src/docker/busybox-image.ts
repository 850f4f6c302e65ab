import { chmod, copyFile, mkdir, mkdtemp, open, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DockerEngine } from './docker-engine.js';
import { findTool } from './find-tool.js';
import { runChecked } from './run-command.js';

/** The tag the e2e tests run their containers from. */
export const BUSYBOX_IMAGE = 'stowage-e2e/busybox:latest';

// The applets the tests and the README's scenarios use.
const APPLETS = ['sh', 'echo', 'cat', 'ls', 'sleep', 'test', 'mkdir', 'touch', 'wc', 'hostname', 'stat'];

// A dynamically linked busybox (Debian's `busybox` rather than `busybox-static`) cannot run in an image that holds
// nothing else. Its ELF program headers say so: a PT_INTERP entry names the dynamic loader it needs.
async function isStaticElf(path: string): Promise<boolean> {
  const file = await open(path, 'r');
  try {
    const header = Buffer.alloc(64);
    await file.read(header, 0, 64, 0);
    if (header.readUInt32BE(0) !== 0x7f454c46 || header[4] !== 2 || header[5] !== 1) return false; // ELF64 LE only
    const phoff = Number(header.readBigUInt64LE(0x20));
    const phentsize = header.readUInt16LE(0x36);
    const phnum = header.readUInt16LE(0x38);
    const table = Buffer.alloc(phentsize * phnum);
    await file.read(table, 0, table.length, phoff);
    for (let i = 0; i < phnum; i += 1) {
      if (table.readUInt32LE(i * phentsize) === 3 /* PT_INTERP */) return false;
    }
    return true;
  } finally {
    await file.close();
  }
}

/**
 * Imports a busybox image into `engine` from the host's static busybox (Debian's busybox-static): no image
 * registry is reachable, so the image is a tar of a root file system holding `bin/busybox` and its applet links,
 * made with `tar` and loaded with `docker import`. Returns the tag.
 */
export async function importBusyboxImage(engine: DockerEngine, tag = BUSYBOX_IMAGE): Promise<string> {
  const busybox = await findTool('busybox', ['/bin/busybox', '/usr/bin/busybox']);
  if (!busybox || !(await isStaticElf(busybox))) {
    throw new Error(
      `no statically linked busybox found (${busybox ?? 'none on PATH'}): install Debian's busybox-static ` +
        '(bash scripts/dev.sh setup does)',
    );
  }
  const work = await mkdtemp(join(tmpdir(), 'stowage-e2e-rootfs-'));
  try {
    const rootfs = join(work, 'rootfs');
    await mkdir(join(rootfs, 'bin'), { recursive: true });
    await mkdir(join(rootfs, 'tmp'), { recursive: true });
    await chmod(join(rootfs, 'tmp'), 0o1777);
    await copyFile(busybox, join(rootfs, 'bin', 'busybox'));
    await chmod(join(rootfs, 'bin', 'busybox'), 0o755);
    for (const applet of APPLETS) await symlink('busybox', join(rootfs, 'bin', applet));
    const tarball = join(work, 'rootfs.tar');
    await runChecked('tar', ['-C', rootfs, '--numeric-owner', '-cf', tarball, '.']);
    await engine.dockerOk(['import', '--change', 'ENV PATH=/bin', '--change', 'CMD ["sh"]', tarball, tag]);
    return tag;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
