#!/usr/bin/env bash
# Assembles Stowage's CSI plugin for Docker Swarm cluster volumes as a Docker managed plugin:
# build/csi-plugin/{config.json,rootfs/}. The rootfs is the volume plugin's (packaging/managed-plugin/build.sh, the
# same downloads cache); only config.json differs: the CSI interface types, csi.sock, /data/published as the
# propagated mount where Swarm publishes volumes, and a host directory for the state and the local volumes.
#
#   bash packaging/csi-plugin/build.sh [OUT]    OUT defaults to build/csi-plugin; it is replaced
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
# Resolved from the caller's directory, as build.sh does.
OUT="$(realpath -m "${1:-$ROOT/build/csi-plugin}")"

bash "$ROOT/packaging/managed-plugin/build.sh" --config "$HERE/config.json" "$OUT"
version="$(node -p 'require(process.argv[1]).version' "$ROOT/packages/docker-adapter/package.json")"
printf '==> %s\n' "install it: mkdir -p /var/lib/stowage-csi && docker plugin create stowage-csi:$version $OUT && docker plugin enable stowage-csi:$version" >&2
printf '==> %s\n' "then, with Docker 23 or later in swarm mode: docker volume create -d stowage-csi:$version --type mount --scope single --sharing all --opt backing=local NAME" >&2
