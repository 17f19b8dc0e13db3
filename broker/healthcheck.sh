#!/bin/sh
# Healthy = the MQTT listener accepts a password login (as ui) and serves a subscription.
set -eu
pw="$(cat "${EDGEWATCH_SECRETS_DIR:-/secrets}/mqtt-ui-password")"
exec mosquitto_sub -h 127.0.0.1 -p 1883 -u ui -P "$pw" -i "healthcheck-$$" \
  -t '$SYS/broker/uptime' -C 1 -W 5 >/dev/null
