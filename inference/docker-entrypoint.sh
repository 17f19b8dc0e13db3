#!/bin/sh
# Starts the worker. When the model it is asked for is not in $EDGEWATCH_MODELS, fetches it
# first (Open Model Zoo, checksums verified) so a fresh box with internet needs no manual step;
# an offline box gets one clear line saying what to copy where.
set -eu

die() { echo "edgewatch-entrypoint: $*" >&2; exit 2; }

# The model the run will load: the value after -m/--model, else $EDGEWATCH_MODEL, else the default.
model_arg() {
  want=""
  name="${EDGEWATCH_MODEL:-person-detection-retail-0013}"
  for arg in "$@"; do
    if [ -n "$want" ]; then name="$arg"; want=""; continue; fi
    case "$arg" in
      -m|--model) want=1 ;;
      --model=*) name="${arg#--model=}" ;;
    esac
  done
  printf '%s' "$name"
}

precision_arg() {
  want=""
  prec="FP16"
  for arg in "$@"; do
    if [ -n "$want" ]; then prec="$arg"; want=""; continue; fi
    case "$arg" in
      --precision) want=1 ;;
      --precision=*) prec="${arg#--precision=}" ;;
    esac
  done
  printf '%s' "$prec"
}

if [ "${1:-}" = "edgewatch" ] && [ "${2:-}" != "models" ] && [ "${2:-}" != "healthcheck" ] \
   && [ "${EDGEWATCH_AUTO_FETCH:-1}" = "1" ]; then
  models="${EDGEWATCH_MODELS:-/models}"
  name="$(model_arg "$@")"
  prec="$(precision_arg "$@")"
  case "$name" in
    */*|*.xml|*.onnx) ;;  # a path: used as given, nothing to fetch
    *)
      if ! edgewatch models list 2>/dev/null | grep -Eq "^$name +$prec +present"; then
        if [ ! -w "$models" ]; then
          die "model $name ($prec) is not in $models and $models is not writable by uid $(id -u): put the model there on the host (edgewatch models fetch $name --dir <models folder>) or make the folder writable"
        fi
        echo "edgewatch-entrypoint: model $name ($prec) not in $models: fetching it" >&2
        edgewatch models fetch "$name" --precision "$prec" \
          || die "could not fetch $name: copy $name/$prec/$name.xml and .bin into the models folder on the host (EDGEWATCH_MODELS_DIR)"
      fi
      ;;
  esac
fi

exec "$@"
