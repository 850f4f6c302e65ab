"""Mounts SOURCE on TARGET as an id-mapped mount that maps only ids 0 to COUNT-1 (each to itself).

A chown(2) through it to any other id fails with EOVERFLOW: the test's stand-in for an NFS server that refuses
root's chown to another user (EFS squashing root). Bind mounts of TARGET keep the mapping. Linux 5.12 or later;
util-linux 2.38 has no option for it, hence the system calls.
"""
import ctypes
import os
import sys
import time

SYS_OPEN_TREE, SYS_MOVE_MOUNT, SYS_MOUNT_SETATTR = 428, 429, 442
OPEN_TREE_CLONE, OPEN_TREE_CLOEXEC = 1, 0o2000000
AT_FDCWD, AT_EMPTY_PATH = -100, 0x1000
MOVE_MOUNT_F_EMPTY_PATH = 4
MOUNT_ATTR_IDMAP = 0x00100000
CLONE_NEWUSER = 0x10000000


class MountAttr(ctypes.Structure):
    _fields_ = [('attr_set', ctypes.c_uint64), ('attr_clr', ctypes.c_uint64), ('propagation', ctypes.c_uint64), ('userns_fd', ctypes.c_uint64)]


libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def check(result, what):
    if result < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f'{what}: {os.strerror(errno)}')
    return result


def main(source, target, count):
    # A child in a new user namespace carries the mapping; the mount keeps the namespace once it is set.
    ready, go = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(go)
        check(libc.unshare(CLONE_NEWUSER), 'unshare')
        os.read(ready, 1)
        os._exit(0)
    os.close(ready)
    own = os.readlink('/proc/self/ns/user')
    while os.readlink(f'/proc/{pid}/ns/user') == own:
        time.sleep(0.01)
    for file, text in (('uid_map', f'0 0 {count}\n'), ('setgroups', 'deny\n'), ('gid_map', f'0 0 {count}\n')):
        with open(f'/proc/{pid}/{file}', 'w') as f:
            f.write(text)
    userns = os.open(f'/proc/{pid}/ns/user', os.O_RDONLY)
    tree = check(libc.syscall(SYS_OPEN_TREE, AT_FDCWD, source.encode(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC), 'open_tree')
    attr = MountAttr(MOUNT_ATTR_IDMAP, 0, 0, userns)
    check(libc.syscall(SYS_MOUNT_SETATTR, tree, b'', AT_EMPTY_PATH, ctypes.byref(attr), ctypes.sizeof(attr)), 'mount_setattr')
    check(libc.syscall(SYS_MOVE_MOUNT, tree, b'', AT_FDCWD, target.encode(), MOVE_MOUNT_F_EMPTY_PATH), 'move_mount')
    os.write(go, b'x')
    os.waitpid(pid, 0)


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
