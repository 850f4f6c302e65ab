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
# proxy when a module needs one (GOTOOLCHAIN=auto); older ones cannot, so they are refused here.
GO_MIN_MINOR=21

CACHE="${STOWAGE_BUILD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stowage}"
BIN_DIR="$CACHE/csi-sanity/$CSI_TEST_VERSION"
BIN="$BIN_DIR/csi-sanity"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'csi-sanity.sh: %s\n' "$*" >&2; exit 1; }

if [ -x "$BIN" ]; then
  printf '%s\n' "$BIN"
  exit 0
fi

# Go is not installed by scripts/dev.sh: these machines have it (/usr/local/go), and Debian 12's golang-go (1.19)
# is too old to build csi-test or to fetch a newer toolchain, so an apt install would not help.
GO="$(command -v go || true)"
[ -n "$GO" ] || [ ! -x /usr/local/go/bin/go ] || GO=/usr/local/go/bin/go
[ -n "$GO" ] || die "Go 1.$GO_MIN_MINOR or later is needed to build csi-sanity and was not found: install it from https://go.dev/dl/ (Debian 12's golang-go is 1.19, too old)"
minor="$("$GO" env GOVERSION | sed -n 's/^go1\.\([0-9]*\).*/\1/p')"
[ -n "$minor" ] && [ "$minor" -ge "$GO_MIN_MINOR" ] ||
  die "Go 1.$GO_MIN_MINOR or later is needed to build csi-sanity; found $("$GO" env GOVERSION) at $GO"

log "building csi-sanity $CSI_TEST_VERSION from the Go module proxy into $BIN_DIR (once; about 80 s on 2 cores)"
mkdir -p "$BIN_DIR"
# -modcacherw: Go makes its module cache read-only, which would make the cache directory hard to delete.
GOPATH="$CACHE/go" GOCACHE="$CACHE/go-cache" GOBIN="$BIN_DIR" GOFLAGS=-modcacherw \
  "$GO" install "github.com/kubernetes-csi/csi-test/v5/cmd/csi-sanity@$CSI_TEST_VERSION" >&2
[ -x "$BIN" ] || die "go install finished but $BIN is missing"
printf '%s\n' "$BIN"
