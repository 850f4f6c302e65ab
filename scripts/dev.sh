#!/usr/bin/env bash
# Stowage on a fresh machine: installs what is missing, builds, then runs the plugin or the whole test suite.
#
#   bash scripts/dev.sh setup            install what is missing (Docker's engine, busybox, Prometheus too), install, build
#   bash scripts/dev.sh plugin [ARGS]    set up, then run `stowage serve ARGS` in the foreground (needs root)
#   bash scripts/dev.sh test             set up, then run every package's tests, the end-to-end tier included
set -euo pipefail
# Turbo would otherwise try to send usage data; nothing here should reach beyond the package registries.
export TURBO_TELEMETRY_DISABLED=1

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PNPM_MAJOR=10
NODE_MIN=20.19
E2E_LOG_DIR="${STOWAGE_E2E_LOG_DIR:-${TMPDIR:-/tmp}/stowage-e2e-logs}"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'dev.sh: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else die "run as root: $*"; fi
}

have_dockerd() { command -v dockerd >/dev/null || [ -x /usr/sbin/dockerd ]; }

have_static_busybox() {
  # Debian's plain `busybox` is dynamically linked and cannot run alone in an image: the tests need busybox-static.
  if command -v dpkg-query >/dev/null; then
    dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed'
  else
    command -v busybox >/dev/null
  fi
}

install_debian_packages() {
  command -v apt-get >/dev/null || die "apt-get not found: install $* by hand (the end-to-end tests need them)"
  # Installing docker.io would start a system engine; the tests start their own, so keep services from
  # starting unless the machine already has a policy of its own.
  local policy=/usr/sbin/policy-rc.d added_policy=0
  if [ ! -e "$policy" ]; then
    as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
    added_policy=1
  fi
  local status=0
  {
    as_root apt-get update &&
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "$@"
  } || status=$?
  if [ "$added_policy" -eq 1 ]; then as_root rm -f "$policy"; fi
  [ "$status" -eq 0 ] || die "apt-get install $* failed (status $status)"
}

have_moto() { python3 -c 'import moto.server' >/dev/null 2>&1; }

install_moto() {
  command -v python3 >/dev/null || install_debian_packages python3 python3-pip
  python3 -m pip --version >/dev/null 2>&1 || install_debian_packages python3-pip
  log "installing moto[server] (the AWS API stand-in of the EBS and EFS tests)"
  # Debian's own python refuses pip installs into it (PEP 668); a pyenv or venv python takes the first form.
  python3 -m pip install --quiet 'moto[server]>=5.1,<6' ||
    python3 -m pip install --quiet --break-system-packages 'moto[server]>=5.1,<6'
}

check_node() {
  command -v node >/dev/null || die "Node.js >= $NODE_MIN is required and was not found"
  node -e "
    const [maj, min] = process.versions.node.split('.').map(Number);
    const [wantMaj, wantMin] = '$NODE_MIN'.split('.').map(Number);
    process.exit(maj > wantMaj || (maj === wantMaj && min >= wantMin) ? 0 : 1);
  " || die "Node.js >= $NODE_MIN is required, found $(node --version)"
}

setup() {
  local with_docker="$1"
  if [ "$with_docker" = yes ]; then
    local packages=()
    have_dockerd || packages+=(docker.io)
    have_static_busybox || packages+=(busybox-static)
    # The relocatable backing's xfs option is tested on real loop devices.
    command -v mkfs.xfs >/dev/null || packages+=(xfsprogs)
    # A real Prometheus scrapes the plugin's HTTP ops endpoint in an end-to-end test.
    command -v prometheus >/dev/null || packages+=(prometheus)
    if [ "${#packages[@]}" -gt 0 ]; then
      log "installing ${packages[*]} (for the end-to-end tests)"
      install_debian_packages "${packages[@]}"
    fi
    have_moto || install_moto
  fi
  check_node
  if ! command -v pnpm >/dev/null; then
    # corepack cannot verify pnpm's signature here: install it from npm directly.
    log "installing pnpm@$PNPM_MAJOR"
    npm i -g "pnpm@$PNPM_MAJOR"
  fi
  log 'pnpm install'
  pnpm install --frozen-lockfile
  log 'pnpm build'
  pnpm build
  if [ "$with_docker" = yes ]; then
    # The CSI tier runs csi-sanity, built from the Go module proxy once and cached outside the sources. Go itself is
    # not installed here: these machines have it, and Debian's golang-go is too old (see scripts/csi-sanity.sh), which
    # then fails the CSI tier with that explanation rather than the setup.
    log 'csi-sanity (the peer test suite of the CSI tier)'
    bash scripts/csi-sanity.sh >/dev/null || log 'csi-sanity could not be built: the CSI tests will fail (see above)'
    # The same for the Swarm cluster volume test: a current dockerd and runc (Debian's engine predates cluster
    # volumes), about 5 minutes the first time on 2 cores.
    log 'dockerd and runc for Swarm cluster volumes (the CSI e2e test)'
    bash scripts/swarm-engine.sh >/dev/null ||
      log 'dockerd and runc could not be built: the Swarm cluster volume test will fail (see above)'
  fi
}

print_e2e_logs() {
  [ -d "$E2E_LOG_DIR" ] || return 0
  local file
  for file in "$E2E_LOG_DIR"/plugin-*.log; do
    [ -s "$file" ] || continue
    printf '\n--- last 30 lines of %s ---\n' "$file" >&2
    tail -n 30 "$file" >&2
  done
  # dockerd is chatty: only its errors, the whole logs stay in the directory.
  for file in "$E2E_LOG_DIR"/dockerd-*.log; do
    [ -s "$file" ] || continue
    printf '\n--- last errors in %s ---\n' "$file" >&2
    { grep -E 'level=(error|fatal)' "$file" || true; } | tail -n 10 >&2
  done
}

cmd_setup() { setup yes; }

cmd_plugin() {
  setup no
  log 'starting the plugin: docker volume create -d stowage NAME works while it runs (Ctrl-C stops it)'
  exec node packages/docker-adapter/dist/cli/main.js serve "$@"
}

cmd_test() {
  setup yes
  rm -rf "$E2E_LOG_DIR"
  local start=$SECONDS status=0
  # Lint, format and types (tests included: vitest runs them untyped) first: a failure there fails the run even if
  # every test passes.
  pnpm lint || status=$?
  pnpm typecheck || status=$?
  pnpm test || status=$?
  if [ "$status" -ne 0 ]; then
    log 'tests failed; the end-to-end logs (engine and plugin) end with:'
    print_e2e_logs
  fi
  log "tests finished in $((SECONDS - start)) s with status $status"
  return "$status"
}

usage() {
  sed -n '2,6p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
}

case "${1:-}" in
  setup) shift; cmd_setup "$@" ;;
  plugin) shift; cmd_plugin "$@" ;;
  test) shift; cmd_test "$@" ;;
  -h | --help | help) usage ;;
  *) usage; exit 2 ;;
esac
