import { describe, expect, it } from 'vitest';
import { ErrorKind } from '../src/errors/error-kind.js';
import { StowageError } from '../src/errors/stowage-error.js';
import { parseMountInfo } from '../src/host/mountinfo.js';

// Lines captured from real hosts: a plain VM, a systemd host with propagation tags, and a Docker plugin's mounts.
const SAMPLE = [
  '22 27 0:21 / /proc rw,relatime - proc proc rw',
  '24 27 0:6 / /dev rw,relatime - devtmpfs devtmpfs rw,size=12334492k,nr_inodes=3083623,mode=755',
  '42 27 254:0 /tmp/mi\\040test/src/sub /tmp/mi\\040test/a\\040b rw,relatime - ext4 /dev/vda rw,discard,resv_strict',
  '43 27 0:39 / /tmp/mi\\040test/tab\\011x rw,relatime - tmpfs my\\040tmp rw,size=1024k,mode=755',
  '44 27 254:0 /tmp/back\\134slash /tmp/new\\012line rw,relatime - ext4 /dev/vda rw,discard',
  '36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue',
  '613 29 0:52 / /var/lib/docker/plugins/abc/propagated-mount/v1 rw,nosuid shared:300 master:12 propagate_from:3 - nfs4 fs-1.efs.eu-west-1.amazonaws.com:/ rw,vers=4.1',
  '',
].join('\n');

describe('parseMountInfo', () => {
  const entries = parseMountInfo(SAMPLE);

  it('reads one entry per non-empty line, in order', () => {
    expect(entries.map((e) => e.target)).toEqual([
      '/proc',
      '/dev',
      '/tmp/mi test/a b',
      '/tmp/mi test/tab\tx',
      '/tmp/new\nline',
      '/mnt2',
      '/var/lib/docker/plugins/abc/propagated-mount/v1',
    ]);
  });

  it('keeps the root of a bind mount of a subdirectory, unescaped', () => {
    expect(entries[2]).toEqual({
      source: '/dev/vda',
      target: '/tmp/mi test/a b',
      fstype: 'ext4',
      root: '/tmp/mi test/src/sub',
      options: ['rw', 'relatime', 'discard', 'resv_strict'],
    });
    expect(entries[0]?.root).toBe('/');
  });

  it('unescapes octal escapes for space, tab, newline and backslash in every path field', () => {
    expect(entries[3]?.source).toBe('my tmp');
    expect(entries[3]?.target).toBe('/tmp/mi test/tab\tx');
    expect(entries[4]?.root).toBe('/tmp/back\\slash');
    expect(entries[4]?.target).toBe('/tmp/new\nline');
  });

  it('skips optional fields up to the separator, however many there are', () => {
    expect(entries[5]).toMatchObject({ source: '/dev/root', fstype: 'ext3', root: '/mnt1', target: '/mnt2' });
    expect(entries[6]).toMatchObject({ source: 'fs-1.efs.eu-west-1.amazonaws.com:/', fstype: 'nfs4' });
    expect(entries[6]?.options).not.toContain('shared:300');
  });

  it('merges per-mount and super-block options, per-mount first, without duplicates', () => {
    expect(entries[5]?.options).toEqual(['rw', 'noatime', 'errors=continue']);
    expect(entries[6]?.options).toEqual(['rw', 'nosuid', 'vers=4.1']);
    expect(entries[0]?.options).toEqual(['rw', 'relatime']);
  });

  it('keeps an empty source field as an empty source', () => {
    const [entry] = parseMountInfo('50 27 0:40 / /mnt/x rw - tmpfs  rw\n');
    expect(entry).toMatchObject({ source: '', fstype: 'tmpfs', target: '/mnt/x', options: ['rw'] });
  });

  it('refuses a line without the optional-fields separator instead of dropping it', () => {
    let caught: unknown;
    try {
      parseMountInfo('22 27 0:21 / /proc rw,relatime proc proc rw');
    } catch (error) {
      caught = error;
    }
    expect(StowageError.is(caught, ErrorKind.BackendFailure)).toBe(true);
    expect((caught as Error).message).toContain('line 1');
  });

  it('parses this machine’s own mount table with / in it', async () => {
    const { readFile } = await import('node:fs/promises');
    const mounts = parseMountInfo(await readFile('/proc/self/mountinfo', 'utf8'));
    expect(mounts.some((m) => m.target === '/')).toBe(true);
    expect(mounts.some((m) => m.target === '/proc' && m.fstype === 'proc')).toBe(true);
  });
});
