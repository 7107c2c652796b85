#!/usr/bin/env bash
# secret-service-run.sh — run a command against a private, real, headless
# freedesktop Secret Service (gnome-keyring-daemon, secrets component only).
#
#   usage: secret-service-run.sh CMD [ARGS...]
#   e.g.   scripts/secret-service-run.sh go test -race ./vault/backend/secretservice/...
#
# Needs (Debian 12): apt-get install -y --no-install-recommends gnome-keyring dbus libsecret-tools
#   (libsecret-tools only for the secret-tool cross-check; dbus-x11 is NOT needed).
#
# What it does:
#   1. starts a private dbus-daemon (session type) on a unix socket in a temp dir,
#      with NO service activation directories, so nothing (a second keyring
#      daemon, gcr-prompter) can be auto-spawned behind our back;
#   2. starts gnome-keyring-daemon --foreground --unlock --components=secrets,
#      password on stdin; it creates the "login" keyring in a temp
#      XDG_DATA_HOME, unlocked, and that collection is the "default" alias;
#   3. waits until org.freedesktop.secrets is owned and the default collection
#      reports Locked=false;
#   4. runs CMD with DBUS_SESSION_BUS_ADDRESS set (HOME etc. untouched, so the
#      Go build/module caches keep working), plus SS_KEYRING_PASSWORD and
#      SS_DIR (keyring data in $SS_DIR/data, runtime dir $SS_DIR/run) and
#      SS_GKD_PID exported for tests that want to lock/unlock or restart
#      the keyring daemon;
#   5. stops both daemons by PID (never by name), reaps them, removes the dir.
# Works as root with no DISPLAY. Exit status is CMD's (127 when a needed
# program is missing). SS_KEEP_DIR=1 keeps the temp dir (and gkd.log).
#
# The tests of vault/backend/secretservice run this script themselves (CMD
# prints the bus address and waits for stdin to close), so that they get a
# keyring of their own that they may lock and wipe.
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 CMD [ARGS...]" >&2; exit 2; }

for bin in dbus-daemon dbus-send gnome-keyring-daemon; do
  command -v "$bin" >/dev/null || {
    echo "secret-service-run: $bin not found; apt-get install -y --no-install-recommends gnome-keyring dbus-daemon" >&2
    exit 127
  }
done

PW=${SS_KEYRING_PASSWORD:-test-password}
D=$(mktemp -d /tmp/secret-service.XXXXXX)
mkdir -m 700 "$D/run" "$D/data"
DBUS_PID= GKD_PID=

cleanup() {
  local rc=$?
  for p in $GKD_PID $DBUS_PID; do kill "$p" 2>/dev/null || true; done
  for p in $GKD_PID $DBUS_PID; do wait "$p" 2>/dev/null || true; done
  [ -n "${SS_KEEP_DIR:-}" ] || rm -rf "$D"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cat >"$D/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=$D/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
EOF

t0=$(date +%s%N)
dbus-daemon --config-file="$D/bus.conf" --nofork --nopidfile --print-address=3 3>"$D/addr" &
DBUS_PID=$!
for _ in $(seq 100); do [ -s "$D/addr" ] && break; sleep 0.05; done
[ -s "$D/addr" ] || { echo "secret-service-run: dbus-daemon did not start" >&2; exit 1; }
export DBUS_SESSION_BUS_ADDRESS
DBUS_SESSION_BUS_ADDRESS=$(head -n1 "$D/addr")

# --unlock reads the login-keyring password from stdin (no trailing newline!).
env -u DISPLAY -u WAYLAND_DISPLAY XDG_RUNTIME_DIR="$D/run" XDG_DATA_HOME="$D/data" \
  gnome-keyring-daemon --foreground --unlock --components=secrets \
  < <(printf '%s' "$PW") >"$D/gkd.log" 2>&1 &
GKD_PID=$!

ready=
for _ in $(seq 200); do
  if dbus-send --session --print-reply --dest=org.freedesktop.secrets /org/freedesktop/secrets/aliases/default \
       org.freedesktop.DBus.Properties.Get string:org.freedesktop.Secret.Collection string:Locked 2>/dev/null \
     | grep -q 'boolean false'; then ready=1; break; fi
  kill -0 "$GKD_PID" 2>/dev/null || break
  sleep 0.05
done
if [ -z "$ready" ]; then
  echo "secret-service-run: gnome-keyring-daemon not ready; log:" >&2; cat "$D/gkd.log" >&2; exit 1
fi
echo "secret-service-run: bus+keyring ready in $(( ($(date +%s%N) - t0) / 1000000 )) ms (dbus pid $DBUS_PID, gkd pid $GKD_PID)" >&2

export SS_KEYRING_PASSWORD=$PW SS_DIR=$D SS_GKD_PID=$GKD_PID
set +e
"$@"
rc=$?
set -e
exit $rc
