#!/usr/bin/env bash
# bench/etcd.sh runs the etcd backend's benchmarks (vault/backend/etcdstore,
# bench_test.go) on a real 3-member TLS cluster with authentication that
# the test binary starts on loopback (internal/testutil/etcdproc; needs
# Debian's etcd-server): Get and Put through the store and through a vault
# beside a bare clientv3 Get and Put of the same bytes (the floor), and a
# vault's List of 10 000 secrets. It prints the load average before and
# after, then each benchmark's median over the runs and its ratio to the
# floor.
#
# Usage: bench/etcd.sh
#   COUNT=5        runs of each benchmark
#   BENCHTIME=1s   -test.benchtime
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${COUNT:-5}
BENCHTIME=${BENCHTIME:-1s}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
go test ./vault/backend/etcdstore -run '^$' -bench . -benchtime "$BENCHTIME" -count "$COUNT" | tee "$out" | grep '^Benchmark'
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
awk '/^Benchmark/ {
	name = $1; sub(/-[0-9]+$/, "", name)
	n[name]++; v[name, n[name]] = $3
}
END {
	for (k in n) {
		m = n[k]
		for (i = 1; i <= m; i++) a[i] = v[k, i]
		for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		med[k] = (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
	}
	for (k in med) {
		split(k, p, "/")
		floor = med[p[1] "/bare"]
		ratio = (floor > 0 && p[2] != "bare") ? sprintf("%.2fx bare", med[k] / floor) : ""
		printf "%-28s %10.3f ms  %s\n", k, med[k] / 1e6, ratio
	}
}' "$out" | sort
