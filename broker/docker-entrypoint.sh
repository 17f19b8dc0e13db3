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
#
# It also writes the ACL with worker_acl.py: the worker user may use the topics of the cameras in
# EDGEWATCH_MQTT_WORKER_CAMERAS (comma-separated, `+` = any) or else of the cameras in the worker's
# config file (EDGEWATCH_CONFIG, default /config/edgewatch.yaml), which it then keeps following while
# Mosquitto runs; and, on first start, the TLS certificates of the 8883 listener (see tls_setup below).
#
# Paths can be moved for a run outside the image (tests): EDGEWATCH_AUTH_DIR (/etc/mosquitto/auth,
# passwd and acl), EDGEWATCH_ACL_TEMPLATE (/etc/mosquitto/acl), EDGEWATCH_TLS_DIR (/var/lib/mosquitto/tls).
set -eu

HERE="$(dirname "$0")"
SECRETS_DIR="${EDGEWATCH_SECRETS_DIR:-/secrets}"
PASSWD_FILE="${EDGEWATCH_AUTH_DIR:-/etc/mosquitto/auth}/passwd"
TLS_DIR="${EDGEWATCH_TLS_DIR:-/var/lib/mosquitto/tls}"

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

# keep_password USER GID PASSWORD: write it atomically for the service that logs in as USER.
# Numeric group ids (the image names them edgewatch-worker-pw and edgewatch-ui-pw): compose's
# group_add uses the numbers, and they work where the names do not exist.
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

keep_password worker 2001 "$worker_pw"
keep_password ui 2002 "$ui_pw"

# Mosquitto stores salted hashes only; rebuilt at every start so a changed password takes effect.
( umask 0077; : > "$PASSWD_FILE.new" )
mosquitto_passwd -b "$PASSWD_FILE.new" worker "$worker_pw"
mosquitto_passwd -b "$PASSWD_FILE.new" ui "$ui_pw"
mv -f "$PASSWD_FILE.new" "$PASSWD_FILE"
unset worker_pw ui_pw EDGEWATCH_MQTT_WORKER_PASSWORD EDGEWATCH_MQTT_UI_PASSWORD

# tls_setup: certificates for the 8883 listener. Mounted server.crt + server.key in $TLS_DIR are
# used as they are. Otherwise (first start, or a generated certificate within 30 days of expiry)
# a private CA signs a server certificate for broker, localhost, 127.0.0.1 and the names in
# EDGEWATCH_MQTT_TLS_NAMES (comma-separated DNS names or IPs); the CA key is deleted once it has
# signed, so a stolen volume cannot mint more certificates. Clients verify with the CA
# certificate, exported world-readable to $SECRETS_DIR/mqtt-ca.crt.
tls_setup() {
  ( umask 0077; mkdir -p "$TLS_DIR" )
  if [ -s "$TLS_DIR/server.crt" ] && [ -s "$TLS_DIR/server.key" ] \
     && { [ ! -e "$TLS_DIR/.generated" ] || openssl x509 -checkend 2592000 -noout -in "$TLS_DIR/server.crt" >/dev/null; }; then
    :
  else
    san="DNS:broker,DNS:localhost,IP:127.0.0.1"
    for name in $(printf '%s' "${EDGEWATCH_MQTT_TLS_NAMES:-}" | tr ',' ' '); do
      case "$name" in
        *[!A-Za-z0-9.:-]*) die "EDGEWATCH_MQTT_TLS_NAMES: '$name' is not a DNS name or an IP address" ;;
        *[!0-9.]*) case "$name" in *:*) san="$san,IP:$name" ;; *) san="$san,DNS:$name" ;; esac ;;
        *) san="$san,IP:$name" ;;
      esac
    done
    work="$(mktemp -d)"
    ( umask 0077
      openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
        -subj "/CN=Edgewatch MQTT CA $(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
        -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -keyout "$work/ca.key" -out "$work/ca.crt" 2>/dev/null
      openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=broker" \
        -keyout "$work/server.key" -out "$work/server.csr" 2>/dev/null
      printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
        "extendedKeyUsage=serverAuth" "subjectAltName=$san" \
        "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid" >"$work/server.ext"
      openssl x509 -req -in "$work/server.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -set_serial "0x$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
        -days 3650 -extfile "$work/server.ext" -out "$work/server.crt" 2>/dev/null
    ) || die "could not generate the TLS certificates in $work"
    for f in ca.crt server.crt server.key; do mv -f "$work/$f" "$TLS_DIR/$f"; done
    rm -rf "$work"
    : >"$TLS_DIR/.generated"
    echo "broker: generated a private CA and a TLS server certificate for $san in $TLS_DIR" >&2
  fi
  # The CA clients should trust: the mounted/generated ca.crt, else the (self-signed) server.crt.
  ca="$TLS_DIR/ca.crt"; [ -s "$ca" ] || ca="$TLS_DIR/server.crt"
  cp "$ca" "$SECRETS_DIR/mqtt-ca.crt.tmp.$$"
  chmod 0644 "$SECRETS_DIR/mqtt-ca.crt.tmp.$$"
  mv -f "$SECRETS_DIR/mqtt-ca.crt.tmp.$$" "$SECRETS_DIR/mqtt-ca.crt"
}

python3 "$HERE/worker_acl.py" write || exit 1
tls_setup

# The ACL follows the config file while Mosquitto runs (unless the cameras are given explicitly).
# $$ is this shell, which becomes Mosquitto at exec; the watcher ends when it does.
python3 "$HERE/worker_acl.py" watch $$ &
exec "$@"
