#!/usr/bin/env bash
# CI stage for the compose stack: provision Docker, build the images, bring the stack up with the
# real models and videos of ../shared, run tests/integration against it, keep the logs, tear it
# down. Runs from a fresh machine of the project's kind (root, Debian 12, PyPI/Debian/npm only).
#
#   bash .ci/stack.sh
#
# Environment (all optional):
#   EDGEWATCH_SHARED     models and videos (default <repo>/../shared)
#   EDGEWATCH_ARTIFACTS  where logs and reports go (default <repo>/artifacts); this stage writes
#                        into its stack/ subfolder
#   EDGEWATCH_UI_PORT    host port of the UI (default 8080, or a free one when 8080 is taken)
#   EDGEWATCH_BUILD_CA   CA bundle pip/npm trust inside builds (default the host's)
#   EDGEWATCH_KEEP_STACK 1 = leave the stack running afterwards (for debugging)
#   EDGEWATCH_TEST_COMPOSE_FILES  colon-separated compose files (default compose.yaml,
#                        compose.rtsp.yaml and tests/integration/compose.test.yaml)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SHARED="$(cd "${EDGEWATCH_SHARED:-$ROOT/../shared}" && pwd)"
export EDGEWATCH_ARTIFACTS="${EDGEWATCH_ARTIFACTS:-$ROOT/artifacts}"
ART="$EDGEWATCH_ARTIFACTS/stack"
mkdir -p "$ART"

PROJECT="${EDGEWATCH_TEST_PROJECT:-edgewatch-test}"
export EDGEWATCH_TEST_PROJECT="$PROJECT"
# The production file plus the test override (loopback ports for the broker); the tests read
# the same list, so they drive exactly the project brought up here.
# compose.rtsp.yaml too, so the NVR path is tested.
export EDGEWATCH_TEST_COMPOSE_FILES="${EDGEWATCH_TEST_COMPOSE_FILES:-$ROOT/compose.yaml:$ROOT/compose.rtsp.yaml:$ROOT/tests/integration/compose.test.yaml}"
COMPOSE=(docker compose -p "$PROJECT" --project-directory "$ROOT")
IFS=: read -r -a _files <<<"$EDGEWATCH_TEST_COMPOSE_FILES"
for f in "${_files[@]}"; do COMPOSE+=(-f "$f"); done

T0=$(date +%s)
TIMINGS=()
exec 3>&1  # step() reports here even when a step's own output goes to a file
# step NAME CMD...: runs CMD, records and prints how long it took.
step() {
  local name="$1" t rc=0
  shift
  t=$(date +%s)
  echo "::: stack: $name" >&3
  "$@" || rc=$?
  TIMINGS+=("$(printf '%-28s %5d s' "$name" $(( $(date +%s) - t )))")
  echo "::: stack: $name took $(( $(date +%s) - t )) s (rc $rc)" >&3
  return $rc
}

print_timings() {
  echo "::: stack: timings"
  printf '  %s\n' "${TIMINGS[@]}"
  printf '  %-28s %5d s\n' total $(( $(date +%s) - T0 ))
}

stack_up=0
collect_and_down() {
  local rc=$?
  if [ "$stack_up" = 1 ]; then
    "${COMPOSE[@]}" ps -a >"$ART/ps.txt" 2>&1 || true
    "${COMPOSE[@]}" logs --no-color --timestamps >"$ART/compose.log" 2>&1 || true
    for svc in broker stream inference ui; do
      "${COMPOSE[@]}" logs --no-color --timestamps "$svc" >"$ART/$svc.log" 2>&1 || true
    done
    docker inspect --format '{{.Name}} {{json .State.Health}}' $("${COMPOSE[@]}" ps -aq) >"$ART/health.txt" 2>&1 || true
    if [ "${EDGEWATCH_KEEP_STACK:-0}" = 1 ]; then
      echo "::: stack: left running (EDGEWATCH_KEEP_STACK=1): ${COMPOSE[*]} down -v"
    else
      step "compose down" "${COMPOSE[@]}" down -v --remove-orphans --timeout 20 >"$ART/down.log" 2>&1 || true
    fi
  fi
  [ -f /var/log/dockerd.log ] && tail -n 200 /var/log/dockerd.log >"$ART/dockerd.log" 2>/dev/null || true
  print_timings
  echo "::: stack: logs in $ART"
  exit $rc
}
trap collect_and_down EXIT

# --- provision ---------------------------------------------------------------------------------
step "install docker" scripts/install-docker.sh
step "base image" scripts/build-base-image.sh

# Test tools on the host: the tests are Python, probe RTSP with ffprobe, and the UI test drives
# Debian's Chromium.
PY="$(command -v python || command -v python3)"
need_py=()
for mod in pytest:pytest paho.mqtt:paho-mqtt jsonschema:jsonschema playwright:playwright; do
  "$PY" -c "import ${mod%%:*}" 2>/dev/null || need_py+=("${mod#*:}")
done
if [ ${#need_py[@]} -gt 0 ]; then
  step "pip install test tools" "$PY" -m pip install -q "${need_py[@]}"
fi
if ! command -v ffprobe >/dev/null 2>&1; then
  step "apt install ffmpeg" bash -c 'apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends ffmpeg >/dev/null'
fi
if [ ! -x /usr/bin/chromium ]; then
  step "apt install chromium" bash -c 'apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends chromium >/dev/null'
fi

# --- configure ---------------------------------------------------------------------------------
[ -f "$SHARED/videos/Pedestrian_Detect_2_1_1.mp4" ] || { echo "stack: $SHARED/videos/Pedestrian_Detect_2_1_1.mp4 missing (EDGEWATCH_SHARED)" >&2; exit 1; }
export EDGEWATCH_MODELS_DIR="$SHARED/models"
# The media volume starts empty, as on a fresh Docker host: the worker fetches both demo videos on first
# start from a mirror of their published location (the test override's `mirror` service serves this
# folder on the compose network), checked against the committed checksums.
export EDGEWATCH_TEST_MIRROR_DIR="$ART/mirror"
rm -rf "$EDGEWATCH_TEST_MIRROR_DIR" && mkdir -p "$EDGEWATCH_TEST_MIRROR_DIR"
cp "$SHARED/videos/Pedestrian_Detect_2_1_1.mp4" "$EDGEWATCH_TEST_MIRROR_DIR/one-by-one-person-detection.mp4"
cp "$SHARED/videos/car-detection.mp4" "$EDGEWATCH_TEST_MIRROR_DIR/car-detection.mp4"
chmod -R a+rX "$EDGEWATCH_TEST_MIRROR_DIR"
if [ -z "${EDGEWATCH_BUILD_CA:-}" ]; then
  if [ -s /etc/ssl/certs/ca-certificates.crt ]; then export EDGEWATCH_BUILD_CA=/etc/ssl/certs/ca-certificates.crt
  else export EDGEWATCH_BUILD_CA=/dev/null; fi
fi
free_port() {
  "$PY" - "$1" <<'PY'
import socket, sys
want = int(sys.argv[1])
for port in (want, 0):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    print(s.getsockname()[1])
    break
PY
}
export EDGEWATCH_UI_PORT="${EDGEWATCH_UI_PORT:-$(free_port 8080)}"
export EDGEWATCH_RTSP_PORT="${EDGEWATCH_RTSP_PORT:-$(free_port 8554)}" EDGEWATCH_RTSP_BIND=127.0.0.1
export EDGEWATCH_UI_BIND=127.0.0.1
# A known UI login for the browser tests; the MQTT passwords are left to the broker to generate
# (that path is what a fresh install takes), and the tests read them from the secrets volume.
export EDGEWATCH_UI_PASSWORD="${EDGEWATCH_UI_PASSWORD:-ci-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')}"
export EDGEWATCH_STACK_REQUIRED=1
echo "::: stack: project $PROJECT, UI on 127.0.0.1:$EDGEWATCH_UI_PORT, RTSP on 127.0.0.1:$EDGEWATCH_RTSP_PORT, shared $SHARED"

# --- build and run -----------------------------------------------------------------------------
"${COMPOSE[@]}" down -v --remove-orphans >/dev/null 2>&1 || true  # leftovers of an aborted run
if ! step "compose build" "${COMPOSE[@]}" --progress=plain build >"$ART/build.log" 2>&1; then
  tail -n 60 "$ART/build.log" >&2
  exit 1
fi
docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep '^edgewatch/' | tee "$ART/images.txt"

stack_up=1
if ! step "compose up --wait" "${COMPOSE[@]}" up -d --wait --wait-timeout 300; then
  "${COMPOSE[@]}" ps -a >&2 || true
  "${COMPOSE[@]}" logs --no-color --tail 40 >&2 || true
  exit 1
fi

# --- test --------------------------------------------------------------------------------------
# -rP: the fault tests print their figures (seconds to recover, events lost and doubled); show them.
step "pytest tests/integration" "$PY" -m pytest tests/integration -v -rsP -p no:cacheprovider \
  --junitxml="$ART/junit.xml" -o junit_family=xunit2
