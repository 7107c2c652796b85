package vault

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/palyra/palyra-vault/internal/testutil"
)

// The concurrency tests run several workers at once on one vault, each
// putting, getting, deleting and listing, on keys all workers share and on
// keys only it writes. Every value is a testValue tagged with its writer,
// the writer's sequence number and the secret's reference, so whoever reads
// it knows exactly which Put produced it. Workers report every operation as
// it completes; the checks then need no clock:
//
//   - no operation of any worker fails;
//   - a value read from a shared key was written to that key by some worker;
//   - a worker reading its own key gets the value it wrote there last, or
//     not found after its own delete (nobody else writes that key);
//   - at the end each worker's own keys hold its last acknowledged value.
const (
	mixProcesses = 4   // child processes in the multi-process test
	mixOps       = 300 // operations per worker
	mixShared    = 3   // keys every worker writes
	mixOwn       = 3   // keys per worker that only it writes
)

func init() { childRoles["mixer"] = mixerChild }

// wineDeleteSemantics is why the mixers skip under Wine: there os.Remove of
// a file that another handle holds open (a concurrent List reading its
// header) succeeds, yet the file stays readable with its old bytes until the
// last handle closes, so a worker's Get right after its own acknowledged
// Delete can read the deleted value. Current Windows 10 and 11 delete with
// POSIX semantics on NTFS, where the name goes at once.
const wineDeleteSemantics = "a deleted file that another handle holds open stays readable with its old value"

// mixRefs returns the shared keys and the keys worker owns.
func mixRefs(worker int) (shared, own []Ref) {
	for i := range mixShared {
		shared = append(shared, Ref{Scope: "global", Key: fmt.Sprintf("shared-%d", i)})
	}
	for i := range mixOwn {
		own = append(own, Ref{Scope: fmt.Sprintf("principal:w%d", worker), Key: fmt.Sprintf("own-%d", i)})
	}
	return shared, own
}

func mixTag(worker, seq int, ref Ref) string {
	return fmt.Sprintf("mix w=%d seq=%d %s", worker, seq, ref)
}

// mixEvent is one completed operation of a worker.
type mixEvent struct {
	op      string // "put", "del", "get" or "list"
	ref     Ref    // put, del, get
	worker  int    // put: the worker; get: the writer of the value read, -1 for not found
	seq     int    // put: sequence number written; get: sequence number read
	existed bool   // del
	n       int    // list: number of secrets listed
}

// line is the event in the child protocol.
func (e mixEvent) line() string {
	switch e.op {
	case "put":
		return fmt.Sprintf("put %s %s %d %d", e.ref.Scope, e.ref.Key, e.worker, e.seq)
	case "get":
		return fmt.Sprintf("get %s %s %d %d", e.ref.Scope, e.ref.Key, e.worker, e.seq)
	case "del":
		return fmt.Sprintf("del %s %s %t", e.ref.Scope, e.ref.Key, e.existed)
	default:
		return fmt.Sprintf("list %d", e.n)
	}
}

// parseMixEvent parses line(), failing the test on anything else.
func parseMixEvent(t *testing.T, line string) mixEvent {
	t.Helper()
	f := strings.Fields(line)
	num := func(s string) int {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("malformed worker line %q: %v", line, err)
		}
		return n
	}
	switch {
	case len(f) == 5 && (f[0] == "put" || f[0] == "get"):
		return mixEvent{op: f[0], ref: Ref{Scope: f[1], Key: f[2]}, worker: num(f[3]), seq: num(f[4])}
	case len(f) == 4 && f[0] == "del":
		return mixEvent{op: "del", ref: Ref{Scope: f[1], Key: f[2]}, existed: f[3] == "true"}
	case len(f) == 2 && f[0] == "list":
		return mixEvent{op: "list", n: num(f[1])}
	}
	t.Fatalf("malformed worker line %q", line)
	return mixEvent{}
}

// runMixer performs ops random operations on v as worker, calling report
// after each one returns. It stops at the first failure.
func runMixer(ctx context.Context, v *Vault, worker, ops int, seed uint64, report func(mixEvent)) error {
	rng := rand.New(rand.NewPCG(seed, uint64(worker)))
	shared, own := mixRefs(worker)
	seq := 0
	for range ops {
		ref := own[rng.IntN(len(own))]
		if rng.IntN(2) == 0 {
			ref = shared[rng.IntN(len(shared))]
		}
		switch p := rng.IntN(20); {
		case p < 7:
			seq++
			if _, err := v.Put(ctx, ref.Scope, ref.Key, testValue(mixTag(worker, seq, ref))); err != nil {
				return err
			}
			report(mixEvent{op: "put", ref: ref, worker: worker, seq: seq})
		case p < 10:
			existed, err := v.Delete(ctx, ref.Scope, ref.Key)
			if err != nil {
				return err
			}
			report(mixEvent{op: "del", ref: ref, existed: existed})
		case p < 18:
			tag, err := readValue(ctx, v, ref.Scope, ref.Key)
			if err != nil {
				return err
			}
			e := mixEvent{op: "get", ref: ref, worker: -1}
			if tag != "" {
				var written string
				if _, err := fmt.Sscanf(tag, "mix w=%d seq=%d %s", &e.worker, &e.seq, &written); err != nil || written != ref.String() {
					return fmt.Errorf("Get(%s) returned the value tagged %q", ref, tag)
				}
			}
			report(e)
		default:
			list, err := v.List(ctx, "")
			if err != nil {
				return err
			}
			report(mixEvent{op: "list", n: len(list)})
		}
	}
	return nil
}

// mixerChild is a worker in its own process. After printing "waiting" it
// reads "go <worker> <ops> <seed>", opens the vault, prints one line per
// operation, and "done" at the end; on failure it prints "error ...".
func mixerChild() int {
	emit("waiting")
	var worker, ops int
	var seed uint64
	if _, err := fmt.Fscanf(os.Stdin, "go %d %d %d\n", &worker, &ops, &seed); err != nil {
		emit("error reading the go line: %v", err)
		return 1
	}
	ctx := context.Background()
	v, err := Open(ctx, childConfig())
	if err != nil {
		emit("error opening: %v", err)
		return 1
	}
	defer v.Close()
	if err := runMixer(ctx, v, worker, ops, seed, func(e mixEvent) { emit("%s", e.line()) }); err != nil {
		emit("error %v", err)
		return 1
	}
	emit("done")
	return 0
}

// checkMix checks the workers' logs (logs[w] is worker w's events in the
// order they completed) and then the vault's final state.
func checkMix(t *testing.T, v *Vault, logs [][]mixEvent) {
	t.Helper()
	written := map[Ref]map[[2]int]bool{} // ref -> {worker, seq} put there
	for _, log := range logs {
		for _, e := range log {
			if e.op == "put" {
				if written[e.ref] == nil {
					written[e.ref] = map[[2]int]bool{}
				}
				written[e.ref][[2]int{e.worker, e.seq}] = true
			}
		}
	}
	ops := map[string]int{}
	crossReads := 0          // reads of a value another worker wrote: evidence the workers overlapped
	lastOwn := map[Ref]int{} // own ref -> seq of its last put, 0 when absent
	for w, log := range logs {
		_, own := mixRefs(w)
		for i, e := range log {
			ops[e.op]++
			switch {
			case e.op == "put" && e.worker != w:
				t.Fatalf("worker %d event %d: put reported as worker %d's", w, i, e.worker)
			case e.op == "put" && slices.Contains(own, e.ref):
				lastOwn[e.ref] = e.seq
			case e.op == "del" && slices.Contains(own, e.ref):
				if e.existed != (lastOwn[e.ref] != 0) {
					t.Fatalf("worker %d event %d: Delete(%s) reported existed=%v, but its last write there was seq %d", w, i, e.ref, e.existed, lastOwn[e.ref])
				}
				lastOwn[e.ref] = 0
			case e.op == "get" && slices.Contains(own, e.ref):
				want := mixEvent{op: "get", ref: e.ref, worker: w, seq: lastOwn[e.ref]}
				if lastOwn[e.ref] == 0 {
					want.worker = -1
				}
				if e != want {
					t.Fatalf("worker %d event %d: Get(%s) on its own key read writer %d seq %d, want writer %d seq %d", w, i, e.ref, e.worker, e.seq, want.worker, want.seq)
				}
			case e.op == "get" && e.worker >= 0:
				if !written[e.ref][[2]int{e.worker, e.seq}] {
					t.Fatalf("worker %d event %d: Get(%s) read writer %d seq %d, which no worker wrote there", w, i, e.ref, e.worker, e.seq)
				}
				if e.worker != w {
					crossReads++
				}
			}
		}
	}
	t.Logf("%d workers: %d puts, %d deletes, %d gets (%d of another worker's value), %d lists",
		len(logs), ops["put"], ops["del"], ops["get"], crossReads, ops["list"])

	ctx := context.Background()
	present := 0
	shared, _ := mixRefs(0)
	for _, ref := range shared {
		tag, err := readValue(ctx, v, ref.Scope, ref.Key)
		if err != nil {
			t.Fatalf("final Get(%s): %v", ref, err)
		}
		if tag != "" {
			present++
			var w, seq int
			if _, err := fmt.Sscanf(tag, "mix w=%d seq=%d", &w, &seq); err != nil || !written[ref][[2]int{w, seq}] {
				t.Fatalf("final Get(%s) holds %q, which no worker wrote there", ref, tag)
			}
		}
	}
	for w := range logs {
		_, own := mixRefs(w)
		for _, ref := range own {
			tag, err := readValue(ctx, v, ref.Scope, ref.Key)
			if err != nil {
				t.Fatalf("final Get(%s): %v", ref, err)
			}
			want := ""
			if seq := lastOwn[ref]; seq != 0 {
				want = mixTag(w, seq, ref)
				present++
			}
			if tag != want {
				t.Fatalf("final Get(%s) = %q, want worker %d's last acknowledged write %q", ref, tag, w, want)
			}
		}
	}
	list, err := v.List(ctx, "")
	if err != nil || len(list) != present {
		t.Fatalf("final List: %d secrets, %v; want %d, no error", len(list), err, present)
	}
}

func TestProcessesPuttingGettingAndDeletingAtOnceLoseNothing(t *testing.T) {
	testutil.SkipUnderWine(t, wineDeleteSemantics)
	cfg := testConfig(t)
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	children := make([]*child, mixProcesses)
	for w := range children {
		children[w] = startChild(t, fmt.Sprintf("worker %d", w), "mixer", cfg)
	}
	// Release them together, once all have started, so they overlap.
	for _, c := range children {
		c.expect(t, "waiting")
	}
	for w, c := range children {
		if _, err := fmt.Fprintf(c.stdin, "go %d %d %d\n", w, mixOps, seed); err != nil {
			t.Fatal(err)
		}
	}
	logs := make([][]mixEvent, mixProcesses)
	for w, c := range children {
		lines := c.rest(t)
		if err := c.wait(); err != nil || len(lines) == 0 || lines[len(lines)-1] != "done" {
			last := ""
			if len(lines) > 0 {
				last = lines[len(lines)-1]
			}
			t.Fatalf("worker %d failed: exit %v, last line %q; stderr:\n%s", w, err, last, c.stderr)
		}
		for _, line := range lines[:len(lines)-1] {
			logs[w] = append(logs[w], parseMixEvent(t, line))
		}
	}
	final := openTest(t, cfg)
	checkMix(t, final, logs)
	checkListMatchesFiles(t, final, "after the workers") // they listed, and so wrote header caches, while writing
}

func TestGoroutinesOnOneAndOnTwoHandlesLoseNothing(t *testing.T) {
	testutil.SkipUnderWine(t, wineDeleteSemantics)
	cfg := testConfig(t)
	a, b := openTest(t, cfg), openTest(t, cfg)
	handles := []*Vault{a, a, a, b, b, b} // three goroutines share each handle
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	logs := make([][]mixEvent, len(handles))
	errs := make([]error, len(handles))
	var wg sync.WaitGroup
	for w, v := range handles {
		wg.Go(func() {
			errs[w] = runMixer(context.Background(), v, w, mixOps, seed, func(e mixEvent) { logs[w] = append(logs[w], e) })
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	checkMix(t, a, logs)
}
