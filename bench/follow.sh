#!/usr/bin/env bash
# bench/follow.sh measures how fast a change on one host reaches another
# host's daemon on a shared vault: BenchmarkFollowPropagation
# (cmd/palyra-extra) on the real 3-member etcd cluster that
# internal/testutil/etcdproc starts (Debian's etcd-server must be
# installed: scripts/test.sh installs it). Host a stores a new value with the
# library; host b's "palyra daemon" serves it for an on_change reference.
# It prints the latency from the put's acknowledgement to the first answer
# with the new value (p50, p99, max, in ms) over CHANGES changes.
#
# Usage: bench/follow.sh
#   CHANGES=1000   changes measured (the issue asks for at least 1 000)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
go test -run '^$' -bench '^BenchmarkFollowPropagation$' -benchtime "${CHANGES:-1000}x" -count 1 ./cmd/palyra-extra
printf 'machine: %s CPUs, load average %s\n' "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
