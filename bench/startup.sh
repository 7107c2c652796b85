#!/usr/bin/env bash
# bench/startup.sh measures how fast the palyra command starts, as whole
# processes, against a bare Go program (bench/startup/bare: it writes one
# byte) built by the same script with the same flags (scripts/build.sh:
# CGO_ENABLED, -trimpath, -ldflags), and prints median and minimum per
# command, the ratios to the bare program and the binaries' sizes.
#
# The commands, timed by bench/startup (fork/exec and wait on the monotonic
# clock, every command once per round, the order rotating each round):
#
#   bare         the yardstick
#   nethttp      bare, also linking net/http (bench/startup/nethttp)
#   imports      bare, also linking every package palyra links and running
#                their init (bench/startup/imports): the floor of any
#                command of this binary with today's dependencies
#   version      palyra --version
#   get          palyra secrets get global a --reveal, the default path: it
#                first looks for a daemon socket under the state root (none
#                runs), then reads the vault itself
#   get-never    the same with --daemon never: straight to the vault
#   list         palyra secrets list global (served by palyra too)
#   run          palyra secrets run -e X=vault://global/a -- /bin/true: one
#                reference resolved (the default path: no daemon runs, so
#                the vault is read), then the child started, its output
#                masked, and waited for
#   true         /bin/true alone: the child's own share of run
#   help         palyra --help, which palyra hands to palyra-extra
#                (internal/cli/lean): a delegated command
#   extra-help   palyra-extra --help, run directly: help minus extra-help
#                is what handing a command over costs
#
# on a throwaway vault on the encrypted_file backend holding one secret, in a
# temporary state root that is removed at the end.
#
# Usage: bench/startup.sh
#   RUNS=200       timed runs of each command
#   WARMUP=10      untimed runs of each command first
#   CGO_ENABLED=0  passed on to scripts/build.sh (its default is 0)
#
# Targets (docs/PERFORMANCE.md, "Start-up"): version <= 1.5x, get <= 1.6x by
# the median. Run it on an otherwise idle machine; the ratio of minimums is
# the steadier estimate on a busy one.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

work=$(mktemp -d "${TMPDIR:-/tmp}/palyra-startup.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "building (CGO_ENABLED=${CGO_ENABLED:-0})"
go build -o "$work/startup" ./bench/startup
scripts/build.sh -o "$work/palyra"
scripts/build.sh -o "$work/bare" ./bench/startup/bare
scripts/build.sh -o "$work/nethttp" ./bench/startup/nethttp
scripts/build.sh -o "$work/imports" ./bench/startup/imports

export PALYRA_STATE_ROOT="$work/state"
export PALYRA_VAULT_BACKEND=encrypted_file
unset PALYRA_VAULT_DIR
printf 'bench-value' | "$work/palyra" secrets set global a >/dev/null
if [[ "$("$work/palyra" secrets get global a --reveal)" != bench-value ]]; then
	echo "startup.sh: the throwaway vault does not give back its secret" >&2
	exit 1
fi

p="$work/palyra"
"$work/startup" -runs "${RUNS:-200}" -warmup "${WARMUP:-10}" -target version=1.5 -target get=1.6 \
	"bare=$work/bare" \
	"nethttp=$work/nethttp" \
	"imports=$work/imports" \
	"version=$p,--version" \
	"get=$p,secrets,get,global,a,--reveal" \
	"get-never=$p,secrets,get,global,a,--reveal,--daemon,never" \
	"list=$p,secrets,list,global" \
	"run=$p,secrets,run,-e,X=vault://global/a,--,/bin/true" \
	"true=/bin/true" \
	"help=$p,--help" \
	"extra-help=$work/palyra-extra,--help"

echo
for b in palyra palyra-extra bare nethttp imports; do
	printf 'size: %-12s %9d bytes\n' "$b" "$(stat -c %s "$work/$b")"
done
if command -v file >/dev/null; then
	printf 'palyra: %s\n' "$(file -b "$work/palyra" | cut -d, -f1-4)"
fi
printf 'machine: %s CPUs, load average %s\n' "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
