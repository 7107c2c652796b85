//go:build linux

package main

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/palyra/palyra-vault/internal/cli/extra"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/internal/testutil/etcdproc"
	"github.com/palyra/palyra-vault/vault"
)

// BenchmarkFollowPropagation measures how long a secret stored on host a
// takes to be served by host b's daemon for an on_change reference, on the
// real 3-member cluster: a stores value i with the library (as palyra
// does), then b's daemon is asked over its socket until it serves value i.
// Each iteration is one change; it reports the latency from the put's
// acknowledgement to the first answer with the new value, as p50, p99 and
// max in milliseconds (and from the put's start as put+p50). Run it with
// bench/follow.sh, which asks for 1 000 changes.
func BenchmarkFollowPropagation(b *testing.B) {
	c := etcdproc.Shared(b)
	ha, hb := newFleet(b, c)
	d := hb.startDaemon(followConfig)
	d.waitValue(followedPath, "followed-0", 10*time.Second)

	for _, kv := range ha.env() {
		k, v, _ := strings.Cut(kv, "=")
		b.Setenv(k, v)
	}
	ios, _, _, _ := iostreams.Test()
	extra.RegisterBackends(ios)
	ctx := context.Background()
	cfg := vault.ConfigFromEnv()
	cfg.Passphrase = func() ([]byte, error) { return []byte(passphrase), nil }
	va, err := vault.Open(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer va.Close()

	fromAck := make([]time.Duration, 0, b.N)
	fromStart := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		want := "change-" + strconv.Itoa(i)
		start := time.Now()
		if _, err := va.Put(ctx, "fleet", "followed", []byte(want)); err != nil {
			b.Fatal(err)
		}
		acked := time.Now()
		for {
			got, err := d.value(followedPath)
			if err == nil && got == want {
				break
			}
			if time.Since(acked) > 30*time.Second {
				b.Fatalf("change %d not served after 30 s (serving %q, %v)\n%s", i, got, err, d.out)
			}
			time.Sleep(200 * time.Microsecond)
		}
		now := time.Now()
		fromAck = append(fromAck, now.Sub(acked))
		fromStart = append(fromStart, now.Sub(start))
	}
	b.StopTimer()
	slices.Sort(fromAck)
	slices.Sort(fromStart)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(quantile(fromAck, 0.50)), "p50-ms")
	b.ReportMetric(ms(quantile(fromAck, 0.99)), "p99-ms")
	b.ReportMetric(ms(fromAck[len(fromAck)-1]), "max-ms")
	b.ReportMetric(ms(quantile(fromStart, 0.50)), "put+p50-ms")
	b.ReportMetric(ms(quantile(fromStart, 0.99)), "put+p99-ms")
}

// quantile returns the q-quantile of sorted (nearest rank).
func quantile(sorted []time.Duration, q float64) time.Duration {
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
