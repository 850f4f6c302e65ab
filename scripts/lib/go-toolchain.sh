# Sourced by the scripts that build Go tools once from the Go module proxy (csi-sanity.sh, swarm-engine.sh): where
# their builds are cached, and the Go that builds them.

# Outside the sources: $STOWAGE_BUILD_CACHE, else ~/.cache/stowage. The Go module and build caches live there too,
# shared by every such script, so a new version rebuilds only what changed.
STOWAGE_BUILD_CACHE_DIR="${STOWAGE_BUILD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stowage}"

# Go 1.21 and later fetch the toolchain a module's go.mod asks for themselves from the module proxy
# (GOTOOLCHAIN=auto); older ones cannot, so they are refused.
GO_MIN_MINOR=21

# Prints the path of a Go of 1.$GO_MIN_MINOR or later, or says why there is none (for building `$1`) and fails.
# Go is not installed by scripts/dev.sh: these machines have it (/usr/local/go), and Debian 12's golang-go (1.19)
# is too old to build these tools or to fetch a newer toolchain, so an apt install would not help.
find_go() {
  local what="$1" go minor
  go="$(command -v go || true)"
  [ -n "$go" ] || [ ! -x /usr/local/go/bin/go ] || go=/usr/local/go/bin/go
  if [ -z "$go" ]; then
    printf "Go 1.%s or later is needed to build %s and was not found: install it from https://go.dev/dl/ (Debian 12's golang-go is 1.19, too old)\n" \
      "$GO_MIN_MINOR" "$what" >&2
    return 1
  fi
  minor="$("$go" env GOVERSION | sed -n 's/^go1\.\([0-9]*\).*/\1/p')"
  if [ -z "$minor" ] || [ "$minor" -lt "$GO_MIN_MINOR" ]; then
    printf 'Go 1.%s or later is needed to build %s; found %s at %s\n' \
      "$GO_MIN_MINOR" "$what" "$("$go" env GOVERSION)" "$go" >&2
    return 1
  fi
  printf '%s\n' "$go"
}
