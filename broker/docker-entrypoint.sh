#!/bin/sh
# Sets the broker's two users before Mosquitto starts.
#
# Each password comes from, in order:
#   EDGEWATCH_MQTT_<USER>_PASSWORD        the value itself
#   EDGEWATCH_MQTT_<USER>_PASSWORD_FILE   a file holding it (Docker secrets: /run/secrets/...)
#   $SECRETS_DIR/mqtt-<user>-password     kept from an earlier start (named volume)
#   a new random password                 first start with nothing given
# and is then written to $SECRETS_DIR/mqtt-<user>-password, readable only by the broker and
# the group of the one service that needs it (worker: gid 2001, ui: gid 2002), so the worker
# and the UI read their own password from the shared volume and nothing is baked into an image.
set -eu

SECRETS_DIR="${EDGEWATCH_SECRETS_DIR:-/secrets}"
PASSWD_FILE=/etc/mosquitto/auth/passwd

die() { echo "broker: $*" >&2; exit 1; }

# password_for USER VAR -> prints the password on stdout
password_for() {
  user="$1"; var="$2"
  eval "value=\${$var:-}"
  eval "file=\${${var}_FILE:-}"
  kept="$SECRETS_DIR/mqtt-$user-password"
  if [ -n "$value" ]; then
    printf '%s' "$value"
  elif [ -n "$file" ]; then
    [ -r "$file" ] || die "${var}_FILE=$file cannot be read"
    # Strip the trailing newline that editors add.
    value="$(cat "$file")"
    [ -n "$value" ] || die "${var}_FILE=$file is empty"
    printf '%s' "$value"
  elif [ -s "$kept" ]; then
    cat "$kept"
  else
    echo "broker: no password given for MQTT user '$user': generated one in $kept" >&2
    # 24 random bytes -> 32 characters from [A-Za-z0-9] after dropping base64's symbols.
    head -c 48 /dev/urandom | base64 | tr -d '\n/+=' | head -c 32
  fi
}

# keep_password USER GROUP PASSWORD: write it atomically for the service that logs in as USER.
keep_password() {
  target="$SECRETS_DIR/mqtt-$1-password"
  tmp="$target.tmp.$$"
  ( umask 0137; printf '%s\n' "$3" > "$tmp" )
  chgrp "$2" "$tmp"
  chmod 0640 "$tmp"
  mv -f "$tmp" "$target"
}

[ -d "$SECRETS_DIR" ] && [ -w "$SECRETS_DIR" ] || die "$SECRETS_DIR is not a writable folder (mount the edgewatch-secrets volume there)"

worker_pw="$(password_for worker EDGEWATCH_MQTT_WORKER_PASSWORD)"
ui_pw="$(password_for ui EDGEWATCH_MQTT_UI_PASSWORD)"
for pw in "$worker_pw" "$ui_pw"; do
  case "$pw" in
    *"
"*) die "an MQTT password must be a single line" ;;
  esac
  [ "${#pw}" -ge 12 ] || die "an MQTT password must have at least 12 characters"
done
[ "$worker_pw" != "$ui_pw" ] || die "the worker and ui MQTT passwords must differ"

keep_password worker edgewatch-worker-pw "$worker_pw"
keep_password ui edgewatch-ui-pw "$ui_pw"

# Mosquitto stores salted hashes only; rebuilt at every start so a changed password takes effect.
( umask 0077; : > "$PASSWD_FILE.new" )
mosquitto_passwd -b "$PASSWD_FILE.new" worker "$worker_pw"
mosquitto_passwd -b "$PASSWD_FILE.new" ui "$ui_pw"
mv -f "$PASSWD_FILE.new" "$PASSWD_FILE"
unset worker_pw ui_pw EDGEWATCH_MQTT_WORKER_PASSWORD EDGEWATCH_MQTT_UI_PASSWORD

exec "$@"
