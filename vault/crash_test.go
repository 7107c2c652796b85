//go:build unix

package vault

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/palyra/palyra-vault/internal/fsutil"
	"github.com/palyra/palyra-vault/vault/backend/filestore"
)

// The crash test runs a writer in a child process, kills it with SIGKILL at
// random moments and then checks the vault the way a user would find it.
//
// The writer speaks a line protocol on stdout. Before each operation it
// prints what it is about to do; after the operation returns it prints an
// acknowledgement. A line is printed with one write(2), so once the writer
// has printed it the parent will read it even if the writer dies at once.
// Hence after a kill the parent knows every acknowledged operation and the
// at most one operation that was in flight:
//
//	waiting                                       started; waiting for "go <seed> <seq>" on stdin
//	opening                                       about to call Open
//	ready                                         Open returned
//	begin put <scope> <key> <seq> <hash>          about to Put testValue(crashTag(...))
//	ack put <scope> <key> <seq> <hash>            Put returned nil
//	begin del <scope> <key> <seq>                 about to Delete
//	ack del <scope> <key> <seq> <existed>         Delete returned nil
//	error <message>                               an operation failed; the writer exits
//
// Sequence numbers are unique across all writers of one test, so a value
// read back names exactly the Put that wrote it.
//
// A race-enabled test binary takes a good part of a second to start here,
// more than a round's work, so the parent starts writers ahead of time; each
// waits, without touching the vault, for its "go" line, which carries its
// random seed and first sequence number.
const (
	// crashKills is how many writers the test kills.
	crashKills = 200
	// crashKeysPerScope keys in each of crashScopes: few enough that keys
	// are overwritten and deleted often, which is where crashes hurt.
	crashKeysPerScope = 8
)

var crashScopes = []string{"global", "plugins/crash"}

func init() { childRoles["crash-writer"] = crashWriter }

// crashTag names the value that write seq puts under scope/key.
func crashTag(scope, key string, seq uint64) string {
	return fmt.Sprintf("crash %s/%s seq=%d", scope, key, seq)
}

// crashWriter is the child: it puts and deletes random keys until killed.
func crashWriter() int {
	ctx := context.Background()
	emit("waiting")
	var seed, seq uint64
	if _, err := fmt.Fscanf(os.Stdin, "go %d %d\n", &seed, &seq); err != nil {
		emit("error reading the go line: %v", err)
		return 1
	}
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	emit("opening")
	v, err := Open(ctx, childConfig())
	if err != nil {
		emit("error opening: %v", err)
		return 1
	}
	emit("ready")
	for range 1_000_000 { // bounded, in case the parent dies without killing us
		scope := crashScopes[rng.IntN(len(crashScopes))]
		key := fmt.Sprintf("k%d", rng.IntN(crashKeysPerScope))
		if rng.IntN(5) == 0 {
			emit("begin del %s %s %d", scope, key, seq)
			existed, err := v.Delete(ctx, scope, key)
			if err != nil {
				emit("error deleting %s/%s: %v", scope, key, err)
				return 1
			}
			emit("ack del %s %s %d %t", scope, key, seq, existed)
		} else {
			value := testValue(crashTag(scope, key, seq))
			h := valueHash(value)
			emit("begin put %s %s %d %s", scope, key, seq, h)
			if _, err := v.Put(ctx, scope, key, value); err != nil {
				emit("error putting %s/%s: %v", scope, key, err)
				return 1
			}
			emit("ack put %s %s %d %s", scope, key, seq, h)
		}
		seq++
	}
	return 0
}

// crashState is what one key holds: absent (seq 0) or the value of write seq.
type crashState struct {
	present bool
	seq     uint64
}

func (s crashState) String() string {
	if !s.present {
		return "absent"
	}
	return fmt.Sprintf("seq %d", s.seq)
}

// crashOp is a begun operation of the writer.
type crashOp struct {
	put        bool
	scope, key string
	seq        uint64
}

// crashModel is the parent's exact knowledge of the vault between kills.
type crashModel struct {
	state   map[Ref]crashState
	nextSeq uint64
	// statistics, logged at the end
	acks, inFlight, inFlightLanded int
}

// apply replays one round's protocol lines. It returns the operation in
// flight when the writer died (nil if none) and how many acks it read.
func (m *crashModel) apply(t *testing.T, lines []string) (inFlight *crashOp, acks int) {
	t.Helper()
	for _, line := range lines {
		f := strings.Fields(line)
		switch {
		case len(f) == 0:
			t.Fatalf("empty writer line")
		case f[0] == "waiting" || f[0] == "opening" || f[0] == "ready":
		case f[0] == "error":
			t.Fatalf("writer failed: %s", line)
		case f[0] == "begin" || f[0] == "ack":
			n := 5
			if f[0] == "ack" || f[1] == "put" {
				n = 6
			}
			f = fields(t, line, n)
			seq, err := strconv.ParseUint(f[4], 10, 64)
			if err != nil {
				t.Fatalf("writer line %q: %v", line, err)
			}
			op := &crashOp{put: f[1] == "put", scope: f[2], key: f[3], seq: seq}
			if op.put && f[5] != valueHash(testValue(crashTag(op.scope, op.key, seq))) {
				t.Fatalf("writer line %q: hash differs from the value the parent derives", line)
			}
			if f[0] == "begin" {
				if inFlight != nil {
					t.Fatalf("writer began %q before acknowledging seq %d", line, inFlight.seq)
				}
				if seq < m.nextSeq {
					t.Fatalf("writer reused seq %d (next is %d)", seq, m.nextSeq)
				}
				inFlight, m.nextSeq = op, seq+1
				continue
			}
			if inFlight == nil || *inFlight != *op {
				t.Fatalf("writer acknowledged %q, which it did not begin last", line)
			}
			ref := Ref{Scope: op.scope, Key: op.key}
			if op.put {
				m.state[ref] = crashState{present: true, seq: seq}
			} else {
				if existed := f[5] == "true"; existed != m.state[ref].present {
					t.Fatalf("Delete(%s) reported existed=%v, but the key was %v", ref, existed, m.state[ref])
				}
				m.state[ref] = crashState{}
			}
			inFlight = nil
			acks++
		default:
			t.Fatalf("unknown writer line %q", line)
		}
	}
	m.acks += acks
	return inFlight, acks
}

// verify opens the vault as a user would after the crash and checks every
// key against the model: each holds its last acknowledged state or, for the
// key of the operation in flight, that operation's result. Then it records
// what it found, so the model is exact again for the next round.
func (m *crashModel) verify(t *testing.T, cfg Config, inFlight *crashOp) {
	t.Helper()
	ctx := context.Background()
	v, err := Open(ctx, cfg)
	if err != nil {
		t.Fatalf("vault does not open after the crash: %v", err)
	}
	defer v.Close()
	list, err := v.List(ctx, "")
	if err != nil {
		t.Fatalf("List after the crash: %v", err)
	}
	listed := map[Ref]int{}
	for _, md := range list {
		listed[md.Ref()] = md.Size
	}
	for _, scope := range crashScopes {
		for k := range crashKeysPerScope {
			ref := Ref{Scope: scope, Key: fmt.Sprintf("k%d", k)}
			allowed := []crashState{m.state[ref]}
			if inFlight != nil && (Ref{Scope: inFlight.scope, Key: inFlight.key}) == ref {
				if inFlight.put {
					allowed = append(allowed, crashState{present: true, seq: inFlight.seq})
				} else {
					allowed = append(allowed, crashState{})
				}
			}
			tag, err := readValue(ctx, v, ref.Scope, ref.Key)
			if err != nil {
				t.Fatalf("Get(%s) after the crash: %v (allowed: %v)", ref, err, allowed)
			}
			got := crashState{}
			if tag != "" {
				var written string
				var seq uint64
				if _, err := fmt.Sscanf(tag, "crash %s seq=%d", &written, &seq); err != nil {
					t.Fatalf("Get(%s) returned value tagged %q: %v", ref, tag, err)
				}
				if written != ref.Scope+"/"+ref.Key {
					t.Fatalf("Get(%s) returned the value written to %s", ref, written)
				}
				got = crashState{present: true, seq: seq}
				if size, ok := listed[ref]; !ok || size != len(testValue(tag)) {
					t.Fatalf("List after the crash lists %s: %v with size %d, want size %d", ref, ok, size, len(testValue(tag)))
				}
			} else if _, ok := listed[ref]; ok {
				t.Fatalf("List after the crash lists %s, but Get says not found", ref)
			}
			delete(listed, ref)
			if !slices.Contains(allowed, got) {
				t.Fatalf("after the crash %s holds %v; allowed: %v (last acknowledged first)", ref, got, allowed)
			}
			if got != m.state[ref] {
				m.inFlightLanded++
			}
			m.state[ref] = got
		}
	}
	if len(listed) != 0 {
		t.Fatalf("List after the crash shows secrets no writer wrote: %v", listed)
	}
}

// staleTemps returns the temporary files in the objects directory.
func staleTemps(t *testing.T, cfg Config) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(cfg.Root, filestore.ObjectsDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if fsutil.IsTemp(e.Name()) {
			names = append(names, e.Name())
		}
	}
	return names
}

// crashSeed is the seed of the kill schedule: $PALYRA_VAULT_CRASH_SEED to
// replay a failure, else random (and logged).
func crashSeed(t *testing.T) uint64 {
	if s := os.Getenv("PALYRA_VAULT_CRASH_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("PALYRA_VAULT_CRASH_SEED: %v", err)
		}
		return n
	}
	return rand.Uint64()
}

func TestKillNineAtRandomMomentsLosesNoAcknowledgedWriteAndTearsNoObject(t *testing.T) {
	cfg := testConfig(t)
	seed := crashSeed(t)
	t.Logf("kill schedule seed %d (set PALYRA_VAULT_CRASH_SEED to replay)", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	m := &crashModel{state: map[Ref]crashState{}, nextSeq: 1}
	var prevTemps []string
	duringOpen := 0
	var queue []*child // writers started ahead, waiting for "go"
	for round := range crashKills {
		for len(queue) < 2 {
			queue = append(queue, startChild(t, "", "crash-writer", cfg))
		}
		c := queue[0]
		queue = queue[1:]
		c.name = fmt.Sprintf("writer %d", round)
		c.expect(t, "waiting")
		if _, err := fmt.Fprintf(c.stdin, "go %d %d\n", rng.Uint64(), m.nextSeq); err != nil {
			t.Fatal(err)
		}
		lines := []string{"waiting"}
		read := func() {
			line, ok := c.next(t)
			if !ok {
				c.wait()
				t.Fatalf("writer %d exited before it was killed: %v; lines %q; stderr:\n%s", round, c.err, lines, c.stderr)
			}
			lines = append(lines, line)
			if strings.HasPrefix(line, "error") {
				t.Fatalf("writer %d: %s", round, line)
			}
		}
		// Where to kill: while opening the vault, right after it opened,
		// or after some acknowledged operations; then after no delay or a
		// random one of up to 3 ms (a Put costs a few milliseconds here).
		read() // "opening"
		switch p := rng.IntN(10); {
		case p == 0:
			duringOpen++
		case p <= 2:
			read() // "ready"
		default:
			for acks, want := 0, 1+rng.IntN(10); acks < want; {
				read()
				if strings.HasPrefix(lines[len(lines)-1], "ack ") {
					acks++
				}
			}
		}
		if rng.IntN(3) != 0 {
			time.Sleep(time.Duration(rng.Int64N(int64(3 * time.Millisecond))))
		}
		if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, c.rest(t)...)
		var exitErr *exec.ExitError
		if err := c.wait(); !errors.As(err, &exitErr) || exitErr.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("writer %d did not die by SIGKILL: %v; stderr:\n%s", round, err, c.stderr)
		}
		if strings.Contains(c.stderr.String(), "DATA RACE") {
			t.Fatalf("writer %d reported a data race:\n%s", round, c.stderr)
		}

		inFlight, acks := m.apply(t, lines)
		if inFlight != nil {
			m.inFlight++
		}
		m.verify(t, cfg, inFlight)

		// Temp files a killed writer left are removed by the next writer
		// before its first write is acknowledged.
		if acks > 0 {
			for _, name := range prevTemps {
				if _, err := os.Lstat(filepath.Join(cfg.Root, filestore.ObjectsDir, name)); !errors.Is(err, os.ErrNotExist) {
					t.Fatalf("stale temp file %s left by writer %d survives writer %d's acknowledged writes (%v)", name, round-1, round, err)
				}
			}
			prevTemps = nil
		}
		prevTemps = append(prevTemps, staleTemps(t, cfg)...)
	}
	t.Logf("%d kills (%d while opening), %d acknowledged operations, %d kills with an operation in flight, %d of those landed",
		crashKills, duringOpen, m.acks, m.inFlight, m.inFlightLanded)
}
