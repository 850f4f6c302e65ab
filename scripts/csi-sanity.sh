#!/usr/bin/env bash
# Builds csi-sanity, the CSI spec's own test suite (kubernetes-csi/csi-test), once from the Go module proxy and
# prints the binary's path. Later runs find it in the cache and print the path at once.
#
#   bash scripts/csi-sanity.sh     build if missing (about 80 s on 2 cores), then print the path
#
# The cache is outside the sources: $STOWAGE_BUILD_CACHE, else ~/.cache/stowage (the Go module and build caches
# live there too, so a new csi-test version rebuilds only what changed).
set -euo pipefail

# The version whose csi.proto (spec v1.13.0) packages/csi-adapter/proto vendors.
CSI_TEST_VERSION=v5.6.0
# csi-test v5.6.0's go.mod says `go 1.25.0`. Go 1.21 and later fetch a newer toolchain themselves from the module
# proxy when a module needs one (GOTOOLCHAIN=auto); older ones cannot, so find_go
# (lib/go-toolchain.sh) refuses them.

# shellcheck source=lib/go-toolchain.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/go-toolchain.sh"
CACHE="$STOWAGE_BUILD_CACHE_DIR"
BIN_DIR="$CACHE/csi-sanity/$CSI_TEST_VERSION"
BIN="$BIN_DIR/csi-sanity"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'csi-sanity.sh: %s\n' "$*" >&2; exit 1; }

if [ -x "$BIN" ]; then
  printf '%s\n' "$BIN"
  exit 0
fi

GO="$(find_go 'csi-sanity')" || die "no usable Go (see above)"

log "building csi-sanity $CSI_TEST_VERSION from the Go module proxy into $BIN_DIR (once; about 80 s on 2 cores)"
mkdir -p "$BIN_DIR"
# -modcacherw: Go makes its module cache read-only, which would make the cache directory hard to delete.
GOPATH="$CACHE/go" GOCACHE="$CACHE/go-cache" GOBIN="$BIN_DIR" GOFLAGS=-modcacherw \
  "$GO" install "github.com/kubernetes-csi/csi-test/v5/cmd/csi-sanity@$CSI_TEST_VERSION" >&2
[ -x "$BIN" ] || die "go install finished but $BIN is missing"
printf '%s\n' "$BIN"
