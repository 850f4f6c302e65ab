#!/usr/bin/env bash
# Builds a current Docker engine (dockerd) and runc once from the Go module proxy and prints their paths, one a
# line: dockerd first, then runc. Later runs find them in the cache and print the paths at once.
#
#   bash scripts/swarm-engine.sh     build what is missing (dockerd about 5 min on 2 cores), then print the paths
#
# Why: Swarm cluster volumes (CSI) need Docker 23 / API 1.42 or later; Debian 12's docker.io is 20.10, and Debian's
# runc 1.1.5 fails on the time namespace a current engine asks for. Debian's containerd (1.6) works with both.
#
# The cache is outside the sources: $STOWAGE_BUILD_CACHE, else ~/.cache/stowage (the Go module and build caches
# live there too, shared with scripts/csi-sanity.sh).
set -euo pipefail

# API 1.56. Its go.mod asks for a newer Go than some machines have: Go 1.21 and later fetch the toolchain a module
# needs themselves from the module proxy (GOTOOLCHAIN=auto); older ones cannot, so find_go
# (lib/go-toolchain.sh) refuses them.
MOBY_VERSION=v2.0.0-beta.24
RUNC_VERSION=v1.5.3

# shellcheck source=lib/go-toolchain.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/go-toolchain.sh"
CACHE="$STOWAGE_BUILD_CACHE_DIR"
ENGINE_DIR="$CACHE/swarm-engine"
DOCKERD="$ENGINE_DIR/dockerd-$MOBY_VERSION/dockerd"
RUNC="$ENGINE_DIR/runc-$RUNC_VERSION/runc"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'swarm-engine.sh: %s\n' "$*" >&2; exit 1; }

if [ -x "$DOCKERD" ] && [ -x "$RUNC" ]; then
  printf '%s\n%s\n' "$DOCKERD" "$RUNC"
  exit 0
fi

GO="$(find_go 'dockerd and runc')" || die "no usable Go (see above)"
# runc's nsenter is C, so cgo (and a C compiler) is required.
command -v gcc >/dev/null || die "gcc is needed to build runc (cgo): apt-get install gcc"

# -modcacherw: Go makes its module cache read-only, which would make the cache directory hard to delete.
go_env() { env GOPATH="$CACHE/go" GOCACHE="$CACHE/go-cache" GOFLAGS=-modcacherw CGO_ENABLED=1 "$@"; }

if [ ! -x "$RUNC" ]; then
  log "building runc $RUNC_VERSION from the Go module proxy into ${RUNC%/*} (once; about a minute)"
  mkdir -p "${RUNC%/*}"
  # No build tags: no seccomp support, so dockerd is started with --seccomp-profile=unconfined.
  go_env GOBIN="${RUNC%/*}" "$GO" install "github.com/opencontainers/runc@$RUNC_VERSION" >&2
  [ -x "$RUNC" ] || die "go install finished but $RUNC is missing"
fi

if [ ! -x "$DOCKERD" ]; then
  # `go install pkg@version` refuses modules whose go.mod has replace directives, as moby's has: build from a
  # throwaway module that requires it instead.
  src="$ENGINE_DIR/dockerd-$MOBY_VERSION/module"
  log "building dockerd $MOBY_VERSION from the Go module proxy into ${DOCKERD%/*} (once; about 5 min on 2 cores)"
  rm -rf "$src"
  mkdir -p "$src"
  cat >"$src/go.mod" <<EOF
module stowage.invalid/swarm-engine

go 1.21
EOF
  (cd "$src" && go_env "$GO" get "github.com/moby/moby/v2/cmd/dockerd@$MOBY_VERSION" >&2)
  # Without it the engine reports its version as "library-import" (moby's default for a build as a dependency).
  ldflags="-X github.com/moby/moby/v2/dockerversion.Version=${MOBY_VERSION#v}"
  (cd "$src" && go_env "$GO" build -ldflags "$ldflags" -o "$DOCKERD.tmp" github.com/moby/moby/v2/cmd/dockerd >&2)
  mv "$DOCKERD.tmp" "$DOCKERD"
fi

printf '%s\n%s\n' "$DOCKERD" "$RUNC"
