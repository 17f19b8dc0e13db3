#!/usr/bin/env bash
# Build the base image debian:bookworm-slim locally with debootstrap, for machines that
# cannot pull from an image registry (offline edge boxes, air-gapped CI).
#
# Usage: sudo scripts/build-base-image.sh [--force] [--mirror URL]
#   --force       rebuild even if the image exists or the registry is reachable
#   --mirror URL  Debian mirror (default: $EDGEWATCH_DEBIAN_MIRROR, else the first Debian mirror
#                 in /etc/apt/sources.list*, else http://deb.debian.org/debian)
#
# Does nothing when `docker image inspect debian:bookworm-slim` succeeds, or when the image can
# be pulled. The result is a minbase Debian 12 with the same apt/dpkg trimming as the official
# slim image (no docs, man pages or locales installed; apt caches cleaned after each install).
set -euo pipefail

IMAGE=debian:bookworm-slim
SUITE=bookworm
force=0
mirror="${EDGEWATCH_DEBIAN_MIRROR:-}"

while [ $# -gt 0 ]; do
  case "$1" in
    --force) force=1 ;;
    --mirror) mirror="${2:?--mirror needs a URL}"; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "build-base-image: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

log() { echo "build-base-image: $*" >&2; }

if [ "$force" = 0 ]; then
  if docker image inspect "$IMAGE" >/dev/null 2>&1; then
    log "$IMAGE already present"; exit 0
  fi
  # A registry that answers makes the local build unnecessary; bound the wait, as an
  # unreachable registry can hang instead of failing.
  if timeout 60 docker pull -q "$IMAGE" >/dev/null 2>&1; then
    log "pulled $IMAGE from the registry"; exit 0
  fi
  log "$IMAGE not present and not pullable: building it with debootstrap"
fi

if [ "$(id -u)" != 0 ]; then
  log "debootstrap needs root: run with sudo"; exit 1
fi

# The host's own Debian mirror: the one known to be reachable from here.
find_mirror() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    # one-line format: "deb [opts] URL suite comp"; deb822 format: "URIs: URL"
    awk '
      /^[[:space:]]*#/ {next}
      $1=="deb" { for (i=2;i<=NF;i++) if ($i ~ /^https?:\/\//) { print $i; break } }
      $1=="URIs:" { for (i=2;i<=NF;i++) print $i }
    ' "$f"
  done | grep -E '/debian/?$' | grep -v -- '-security' | head -n1
}
[ -n "$mirror" ] || mirror="$(find_mirror || true)"
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
mirror="${mirror%/}"
log "mirror: $mirror"

if ! command -v debootstrap >/dev/null; then
  log "installing debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap >/dev/null
fi

root="$(mktemp -d /var/tmp/edgewatch-rootfs.XXXXXX)"
trap 'rm -rf "$root"' EXIT

debootstrap --variant=minbase "$SUITE" "$root" "$mirror" >&2

# Same trimming as the official slim image: keep layers small on an edge box's disk.
cat > "$root/etc/dpkg/dpkg.cfg.d/docker" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
CFG
cat > "$root/etc/apt/apt.conf.d/docker-clean" <<'CFG'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CFG
cat > "$root/etc/apt/apt.conf.d/docker-no-languages" <<'CFG'
Acquire::Languages "none";
CFG
cat > "$root/etc/apt/apt.conf.d/docker-autoremove-suggests" <<'CFG'
Apt::AutoRemove::SuggestsImportant "false";
CFG

# Security and point-release updates, from the same mirror host when it carries them.
security="${mirror%/debian}/debian-security"
cat > "$root/etc/apt/sources.list" <<LIST
deb $mirror $SUITE main
deb $mirror $SUITE-updates main
deb $security $SUITE-security main
LIST

# Drop what debootstrap leaves behind that an image should not carry.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
       "$root"/var/log/*.log "$root"/usr/share/man/* "$root"/usr/share/info/* \
       "$root"/tmp/* "$root"/root/.bash_history
# Licences stay (Debian's copyright files); the rest of the docs go, as in the official image.
find "$root/usr/share/doc" -type f ! -name copyright -delete
find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
: > "$root/etc/hostname"

# Import untagged first and tag only after a smoke run: a failed build must not leave a
# broken image under the name that the next run trusts.
id="$(tar --numeric-owner -C "$root" -c . | docker import -c 'CMD ["bash"]' -m "debootstrap --variant=minbase $SUITE $mirror" -)"
docker run --rm "$id" apt-get --version >/dev/null
docker tag "$id" "$IMAGE"
log "built $IMAGE ($(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}'))"
