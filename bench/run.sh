#!/usr/bin/env bash
# bench/run.sh runs the vault's benchmarks (Put, Get, List and Delete at 100,
# 1 000 and 10 000 secrets, beside their floors) and prints a summary: the
# median and minimum of each benchmark over the runs and the ratios
# docs/PERFORMANCE.md reports, against the targets of the issues.
#
# It builds the test binary once, builds the fixtures (10 000 sealed secrets,
# written durably) once in a temporary directory, lets the disk settle, and
# then runs COUNT rounds. In each round every benchmark runs once, in its own
# process, right next to its floor: Put beside Floor/durable-write and
# Floor/durable-write-raw (bare system calls), Get beside Floor/read+open,
# List with a cold cache beside List without one, the pair's order
# alternating from round to round, so that
# a slow drift of the machine (fsync latency wanders a lot on a shared disk)
# weighs on a benchmark and its floor alike. BenchmarkPutPaired and
# BenchmarkListPaired go further: they alternate the two operations one by
# one in a single loop and report the ratio of their medians, the figure
# the targets are judged by (the "alternated" rows).
#
# Usage: bench/run.sh [raw-output-file]
#   COUNT=5        rounds
#   BENCHTIME=1s   -test.benchtime of each benchmark
#   BENCHSTAT=1    also summarise with benchstat (golang.org/x/perf), using the
#                  one on PATH or fetching it through the Go module proxy
#
# With the defaults it takes about five minutes on a 2-core machine. Run it on
# an otherwise idle machine: the Put and Delete numbers are fsync latencies,
# which other processes' disk traffic inflates.
set -euo pipefail
cd "$(dirname "$0")/.."

count=${COUNT:-5}
benchtime=${BENCHTIME:-1s}
work=$(mktemp -d "${TMPDIR:-/tmp}/palyra-vault-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
out=${1:-$work/raw.txt}

go test -c -o "$work/vault.test" ./vault/
export PALYRA_VAULT_BENCH_DIR=$work/fixtures
echo "building fixtures in $PALYRA_VAULT_BENCH_DIR" >&2
"$work/vault.test" -test.run '^$' -test.bench . -test.benchtime 1x >/dev/null
sync
sleep 3

echo "running $count rounds, -test.benchtime $benchtime" >&2
run() { "$work/vault.test" -test.run '^$' -test.bench "$1" -test.benchtime "$benchtime" | tee -a "$out" >&2; }
put='^BenchmarkPut$' putFloor='^BenchmarkFloor$/^durable-write(-raw)?$/'
get='^BenchmarkGet$' getFloor='^BenchmarkFloor$/^read\+open/'
: >"$out"
for i in $(seq "$count"); do
	echo "round $i of $count" >&2
	if ((i % 2)); then
		run "$put"; run "$putFloor"; run "$get"; run "$getFloor"
	else
		run "$putFloor"; run "$put"; run "$getFloor"; run "$get"
	fi
	if ((i % 2)); then
		run '^BenchmarkListCold$'; run '^BenchmarkListUncached$'
	else
		run '^BenchmarkListUncached$'; run '^BenchmarkListCold$'
	fi
	run '^Benchmark(List|Delete)$'
	run '^Benchmark(PutPaired|ListPaired)$'
done

# Medians and minimums per benchmark, then ratios. Names lose their
# -GOMAXPROCS suffix. Other load on the machine only ever adds time, so on a
# busy machine the ratio of minimums is the steadier estimate; on an idle one
# the two agree.
awk '
function sorted(name, a,    n, i, j, t) {
	n = cnt[name]
	for (i = 1; i <= n; i++) a[i] = val[name, i]
	for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
	return n
}
function median(name,    n, a) {
	n = sorted(name, a)
	return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function minimum(name,    a) { sorted(name, a); return a[1] }
function put(name, v) { cnt[name]++; val[name, cnt[name]] = v }
function has(name) { if (!(name in cnt)) { missing = 1; return 0 } return 1 }
function row(what, a, b, target,    rm, rn) {
	if (!has(a) || !has(b)) { printf "%-50s  missing\n", what; return }
	rm = median(a) / median(b); rn = minimum(a) / minimum(b)
	printf "%-50s %6.2fx %6.2fx   <= %.2fx  %s\n", what, rm, rn, target, (rm <= target) ? "met" : "MISSED"
}
function pairrow(what, a, target,    m) {
	if (!has(a)) { printf "%-50s  missing\n", what; return }
	m = median(a)
	printf "%-50s %6.2fx %6.2fx   <= %.2fx  %s\n", what, m, minimum(a), target, (m <= target) ? "met" : "MISSED"
}
function absrow(what, a, target,    m) {
	if (!has(a)) { printf "%-50s  missing\n", what; return }
	m = median(a) / 1e6
	printf "%-50s %6.1fms %5.1fms  <= %.0fms   %s\n", what, m, minimum(a) / 1e6, target, (m <= target) ? "met" : "MISSED"
}
/^Benchmark/ {
	name = $1; sub(/-[0-9]+$/, "", name); sub(/^Benchmark/, "", name)
	for (i = 2; i < NF; i++) {
		if ($(i + 1) == "ns/op") put(name, $i)
		if ($(i + 1) == "ns/secret") put(name "/per-secret", $i)
		if ($(i + 1) == "put/floor" || $(i + 1) == "cold/uncached") put(name "/ratio", $i)
	}
}
END {
	print ""
	printf "%-32s %14s %14s %5s\n", "benchmark", "median", "min", "runs"
	split("Put Get Delete List ListCold ListUncached Floor/durable-write Floor/durable-write-raw Floor/read+open", names, " ")
	split("n=100 n=1000 n=10000", sizes, " ")
	for (k = 1; k <= 9; k++) for (s = 1; s <= 3; s++) {
		name = names[k] "/" sizes[s]
		if (name in cnt) printf "%-32s %11.0f ns %11.0f ns %5d\n", name, median(name), minimum(name), cnt[name]
		if ((name "/per-secret") in cnt) printf "%-32s %11.0f ns %11.0f ns\n", "  per secret", median(name "/per-secret"), minimum(name "/per-secret")
	}
	print ""
	printf "%-50s %7s %7s   %-6s  %s\n", "ratio", "median", "min", "target", "(by median)"
	for (s = 1; s <= 3; s++) {
		n = sizes[s]
		row("Put/" n " / Floor/durable-write-raw/" n, "Put/" n, "Floor/durable-write-raw/" n, 1.3)
	}
	for (s = 1; s <= 3; s++) {
		n = sizes[s]
		row("Put/" n " / Floor/durable-write/" n, "Put/" n, "Floor/durable-write/" n, 1.5)
		row("Get/" n " / Floor/read+open/" n, "Get/" n, "Floor/read+open/" n, 1.5)
	}
	for (s = 1; s <= 3; s++) {
		n = sizes[s]
		pairrow("PutPaired/" n " (Put / raw floor, alternated)", "PutPaired/" n "/ratio", 1.3)
	}
	absrow("List/n=10000, nothing changed", "List/n=10000", 30)
	pairrow("ListPaired/n=10000 (cold / uncached, alternated)", "ListPaired/n=10000/ratio", 1.0)
	row("ListCold/n=10000 / ListUncached/n=10000", "ListCold/n=10000", "ListUncached/n=10000", 1.0)
	row("Get n=10000 / n=100", "Get/n=10000", "Get/n=100", 1.3)
	row("Put n=10000 / n=100", "Put/n=10000", "Put/n=100", 1.3)
	row("Delete n=10000 / n=100", "Delete/n=10000", "Delete/n=100", 1.3)
	row("ListUncached per secret n=10000 / n=100", "ListUncached/n=10000/per-secret", "ListUncached/n=100/per-secret", 1.3)
	if (missing) { print "some benchmarks are missing from the output" > "/dev/stderr"; exit 1 }
}' "$out"

if [[ "${BENCHSTAT:-}" == 1 ]]; then
	echo
	if command -v benchstat >/dev/null; then
		benchstat "$out"
	else
		go run golang.org/x/perf/cmd/benchstat@latest "$out"
	fi
fi
