import { describe, expect, it } from 'vitest';
import { NfsMounter } from '../src/index.js';
import { FakeHost } from './support/fake-host.js';

describe('NfsMounter, the production mount path', () => {
  it('mounts the regional mount target over NFS 4.1 with the options AWS recommends', async () => {
    const host = new FakeHost();
    const mounter = new NfsMounter(host, { region: 'eu-west-3', dnsSuffix: 'amazonaws.com', tls: false });
    await mounter.mountFileSystem(
      'fs-0123456789abcdef0',
      '/var/lib/stowage/drivers/efs/mounts/fs/fs-0123456789abcdef0',
    );
    expect(host.calls).toEqual([
      {
        op: 'mount',
        source: 'fs-0123456789abcdef0.efs.eu-west-3.amazonaws.com:/',
        target: '/var/lib/stowage/drivers/efs/mounts/fs/fs-0123456789abcdef0',
        options: {
          fstype: 'nfs4',
          options: ['nfsvers=4.1', 'rsize=1048576', 'wsize=1048576', 'hard', 'timeo=600', 'retrans=2', 'noresvport'],
        },
      },
    ]);
  });

  it('is the exact command line `mount -t nfs4 -o <options> <dns>:/ <target>` once SystemHostOperations joins it', async () => {
    const host = new FakeHost();
    await new NfsMounter(host, { region: 'us-east-1', dnsSuffix: 'amazonaws.com', tls: false }).mountFileSystem(
      'fs-12345678',
      '/mnt/x',
    );
    const [call] = host.calls;
    if (call?.op !== 'mount') throw new Error('expected a mount');
    // SystemHostOperations.mount builds argv as [-t fstype] [-o options joined by commas] source target.
    const argv = [
      'mount',
      '-t',
      call.options?.fstype,
      '-o',
      call.options?.options?.join(','),
      call.source,
      call.target,
    ];
    expect(argv.join(' ')).toBe(
      'mount -t nfs4 -o nfsvers=4.1,rsize=1048576,wsize=1048576,hard,timeo=600,retrans=2,noresvport fs-12345678.efs.us-east-1.amazonaws.com:/ /mnt/x',
    );
  });

  it('uses the configured DNS suffix for other partitions', async () => {
    const host = new FakeHost();
    await new NfsMounter(host, { region: 'cn-north-1', dnsSuffix: 'amazonaws.com.cn', tls: false }).mountFileSystem(
      'fs-12345678',
      '/mnt/x',
    );
    expect(host.calls[0]).toMatchObject({ source: 'fs-12345678.efs.cn-north-1.amazonaws.com.cn:/' });
  });

  it('goes through efs-utils with TLS when tls is set: mount -t efs -o tls <fs-id>:/ <target>', async () => {
    const host = new FakeHost();
    await new NfsMounter(host, { region: 'us-east-1', dnsSuffix: 'amazonaws.com', tls: true }).mountFileSystem(
      'fs-12345678',
      '/mnt/x',
    );
    expect(host.calls).toEqual([
      { op: 'mount', source: 'fs-12345678:/', target: '/mnt/x', options: { fstype: 'efs', options: ['tls'] } },
    ]);
  });

  it('mounts an access point through efs-utils, which needs TLS for access points', async () => {
    const host = new FakeHost();
    await new NfsMounter(host, { region: 'us-east-1', dnsSuffix: 'amazonaws.com', tls: false }).mountAccessPoint(
      {
        fileSystemId: 'fs-12345678',
        accessPointId: 'fsap-0abc',
        rootDirectory: '/v1',
        owner: { uid: 0, gid: 0, permissions: '0755' },
      },
      '/mnt/ap/v1',
    );
    expect(host.calls).toEqual([
      {
        op: 'mount',
        source: 'fs-12345678:/',
        target: '/mnt/ap/v1',
        options: { fstype: 'efs', options: ['tls', 'accesspoint=fsap-0abc'] },
      },
    ]);
  });
});
