#!/usr/bin/env bash
# test.sh — the whole test suite, as the README and CI run it.
#
#   usage: scripts/test.sh [extra go test flags...]
#
# 1. installs the Debian packages the tests need when they are missing
#    (gnome-keyring, libsecret-tools, Wine and mingw for the Windows tests,
#    etcd-server and etcd-client: the etcd tests start their own 3-member
#    cluster on loopback, internal/testutil/etcdproc);
# 2. checks gofmt and go vet (for linux, windows and darwin);
# 3. runs `go test -race ./...` against a real gnome-keyring-daemon on a
#    private D-Bus session bus (scripts/secret-service-run.sh starts and
#    stops it);
# 4. runs the Windows backend's tests as Windows binaries under Wine
#    (scripts/wine-go-test.sh).
# With CI=true a missing real component fails the run instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

need=()
command -v gnome-keyring-daemon >/dev/null || need+=(gnome-keyring)
command -v secret-tool >/dev/null || need+=(libsecret-tools)
command -v dbus-daemon >/dev/null || need+=(dbus-daemon)
command -v wine >/dev/null || need+=(wine64 wine)
command -v x86_64-w64-mingw32-gcc >/dev/null || need+=(gcc-mingw-w64-x86-64-win32)
command -v etcd >/dev/null || need+=(etcd-server)
command -v etcdctl >/dev/null || need+=(etcd-client)
if [ ${#need[@]} -gt 0 ]; then
  sudo=
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  echo "test.sh: installing ${need[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

echo "test.sh: gofmt and go vet" >&2
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then echo "gofmt would change:" >&2; echo "$unformatted" >&2; exit 1; fi
go vet ./...
GOOS=windows GOARCH=amd64 go vet ./...
GOOS=darwin GOARCH=arm64 go vet ./...

echo "test.sh: go test -race ./... (real Secret Service on a private bus)" >&2
scripts/secret-service-run.sh go test -race -count=1 "$@" ./...

echo "test.sh: Windows tests under Wine" >&2
scripts/wine-go-test.sh -count=1 "$@" ./internal/fsutil/... ./internal/testutil/... \
  ./vault/backend/filestore/... ./vault/backend/dpapi/... ./vault/backend/backendtest/... ./vault/ \
  ./vault/palyrars/...

echo "test.sh: all tests passed" >&2
