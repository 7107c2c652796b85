#!/usr/bin/env bash
# build.sh — build palyra and palyra-extra (or another main package of this
# module) the way the project ships them. Every script that builds palyra
# calls this one, so the flags live in one place. palyra hands the daemon
# and backups to palyra-extra, which must sit beside it (docs/CLI.md,
# "Programs"), so without a PACKAGE both are built into OUT's directory.
#
#   CGO_ENABLED=0  a static binary: palyra needs no C (no os/user, no DNS;
#                  net serves only the daemon's Unix socket), and a static
#                  binary starts faster, with no dynamic loader to run
#                  (docs/PERFORMANCE.md, "Start-up"). Set CGO_ENABLED=1 in
#                  the environment to override.
#   -trimpath      no build machine paths in the binary
#   -ldflags -X    the version (git describe) and VCS revision (git
#                  rev-parse HEAD, "-dirty" when the work tree has changes),
#                  stamped even where Go's own VCS stamping is off
#                  (-buildvcs=false, or GOFLAGS saying so); "palyra
#                  --version" prints them
#
#   usage: scripts/build.sh [-o OUT] [PACKAGE] [extra go build flags...]
#          (defaults: bin/palyra of the repository, ./cmd/palyra and
#          ./cmd/palyra-extra as OUT's palyra-extra; OUT is relative to the
#          current directory, PACKAGE to the repository)
set -euo pipefail
here="$PWD"
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

pkg=github.com/palyra/palyra-vault/internal/version
version=$(git describe --tags --always --dirty 2>/dev/null || true)
revision=$(git rev-parse HEAD 2>/dev/null || true)
if [[ -n "$revision" ]] && ! git diff --quiet HEAD 2>/dev/null; then
	revision="$revision-dirty"
fi
# A missing value stays empty: the binary then reports what the Go
# toolchain recorded, or "(devel)" / "unknown", never a guess.
ldflags="-X $pkg.version=$version -X $pkg.revision=$revision"

out="$PWD/bin/palyra"
if [[ "${1:-}" == -o ]]; then
	out="$2"
	[[ "$out" == /* ]] || out="$here/$out"
	shift 2
fi
target=./cmd/palyra
if [[ $# -gt 0 && "$1" != -* ]]; then
	target="$1"
	shift
fi
build() { CGO_ENABLED="${CGO_ENABLED:-0}" go build -trimpath -ldflags "$ldflags" "$@"; }
build -o "$out" "$@" "$target"
if [[ "$target" == ./cmd/palyra ]]; then
	build -o "$(dirname "$out")/palyra-extra" "$@" ./cmd/palyra-extra
fi
