#!/bin/sh
# Starts the worker. When a model it is asked for (by its flags, its config file or EDGEWATCH_MODEL)
# is not in $EDGEWATCH_MODELS, `edgewatch models ensure` fetches it first (Open Model Zoo, checksums
# verified), so a fresh box with internet needs no manual step; an offline box gets one clear line
# saying what to copy where.
set -eu

if [ "${1:-}" = "edgewatch" ] && [ "${EDGEWATCH_AUTO_FETCH:-1}" = "1" ]; then
  case "${2:-}" in
    models|healthcheck|cameras) ;;
    *)
      shift
      edgewatch models ensure "$@"
      exec edgewatch "$@"
      ;;
  esac
fi

exec "$@"
