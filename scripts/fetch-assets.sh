#!/usr/bin/env bash
# Everything the stack needs before its first start, into the volumes (or EDGEWATCH_MODELS_DIR /
# EDGEWATCH_MEDIA_DIR folders) the worker mounts: the models config/edgewatch.yaml names and the demo
# videos, each checked against its committed SHA-256 and written atomically. Runs in the worker's own
# image (`docker compose run`), so it needs Docker and nothing else on the host.
#
#   scripts/fetch-assets.sh              # from the published locations (Open Model Zoo, Intel's sample-videos)
#   scripts/fetch-assets.sh --from DIR   # offline: from a folder (a USB stick, another box's copy):
#                                        # models in DIR/models/<name>/<precision>/ (or DIR/<name>/...),
#                                        # videos anywhere under DIR, found by checksum whatever their names
#
# Honours the same .env / COMPOSE_FILE / COMPOSE_PROJECT_NAME as `docker compose up`. See docs/deploy.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

from=""
while [ $# -gt 0 ]; do
  case "$1" in
    --from) [ $# -ge 2 ] || { echo "fetch-assets.sh: --from needs a folder" >&2; exit 2; }; from="$2"; shift 2 ;;
    --from=*) from="${1#--from=}"; shift ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "fetch-assets.sh: unknown argument $1 (usage: scripts/fetch-assets.sh [--from DIR])" >&2; exit 2 ;;
  esac
done

run=(docker compose run --rm --no-deps -T)
media_args=()
if [ -n "$from" ]; then
  [ -d "$from" ] || { echo "fetch-assets.sh: --from $from is not a folder" >&2; exit 2; }
  from="$(cd "$from" && pwd)"
  models=/from
  [ -d "$from/models" ] && models=/from/models
  run+=(-v "$from:/from:ro" -e "EDGEWATCH_MODEL_BASE_URL=file://$models")
  media_args=(--from /from)
fi

# `models ensure` fetches what the site's config names and is missing (the broker's password is not needed
# for that, nor there before the broker's first start); `media fetch` the demo videos.
"${run[@]}" inference sh -c 'env -u EDGEWATCH_MQTT_PASSWORD_FILE edgewatch models ensure -c /config/edgewatch.yaml &&
  edgewatch media fetch "$@" && edgewatch media list' \
  fetch-assets "${media_args[@]}"
