//go:build unix

package vault

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"time"

	"github.com/palyra/palyra-vault/vault/internal/keysource"

	"github.com/palyra/palyra-vault/vault/internal/envelope"
)

// The rotation kill test runs RotateKey in a child process and kills it
// with SIGKILL at random points: after a random number of the steps it
// reports (each rewrapped object is one), plus a random delay of up to
// half a millisecond so the kill also lands inside writes. After every kill
// a fresh handle in the parent must read every secret exactly; then a new
// child reruns the rotation, until one finishes.
//
// The child prints, each in one write(2):
//
//	opening | ready | step <pending|stored|rewrapped|switched|dropped>
//	done <rewrapped> <skipped> <resumed> | error <message>
const (
	rotateToEnv      = "PALYRA_VAULT_TEST_ROTATE_TO"
	rotatePassEnv    = "PALYRA_VAULT_TEST_PASS"
	rotateNewPassEnv = "PALYRA_VAULT_TEST_NEW_PASS"

	rotateRounds  = 12
	rotateSecrets = 24
)

func init() { childRoles["rotate-worker"] = rotateWorker }

func rotateWorker() int {
	ctx := context.Background()
	rotateHook = func(step string) { emit("step %s", step) }
	cfg := childConfig()
	cfg.Passphrase = func() ([]byte, error) { return []byte(os.Getenv(rotatePassEnv)), nil }
	emit("opening")
	v, err := Open(ctx, cfg)
	if err != nil {
		emit("error opening: %v", err)
		return 1
	}
	emit("ready")
	rep, err := v.RotateKey(ctx, KeySourceSpec{
		Source:     os.Getenv(rotateToEnv),
		Passphrase: func() ([]byte, error) { return []byte(os.Getenv(rotateNewPassEnv)), nil },
	})
	if err != nil {
		emit("error rotating: %v", err)
		return 1
	}
	emit("done %d %d %v", rep.Rewrapped, rep.Skipped, rep.Resumed)
	return 0
}

// activePassphrase returns which of candidates derives the vault's active
// key, or "" when the active key is not a passphrase key.
func activePassphrase(t *testing.T, cfg Config, candidates ...string) string {
	t.Helper()
	st := readState(t, cfg)
	if st.Active.Source != KeySourcePassphrase {
		return ""
	}
	for _, c := range candidates {
		if keysource.KEKIDHex(st.Active.KDF.Derive([]byte(c))) == st.Active.KEKID {
			return c
		}
	}
	t.Fatalf("none of the passphrases %q opens the vault", candidates)
	return ""
}

func TestKillNineDuringRotationLeavesEverySecretReadableAndRerunFinishes(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a hundred-odd child processes")
	}
	seed := crashSeed(t)
	t.Logf("kill schedule seed %d (set PALYRA_VAULT_CRASH_SEED to replay)", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	cfg := testConfig(t)
	v := openTest(t, cfg)
	refs := putMany(t, v, rotateSecrets)
	v.Close()

	oldPass, kills, resumes := "", 0, 0
	for round := range rotateRounds {
		target := []string{KeySourceDevice, KeySourcePassphrase}[rng.IntN(2)]
		newPass := fmt.Sprintf("passphrase of round %d", round)
		startID := readState(t, cfg).Active.KEKID
		for attempt := 0; ; attempt++ {
			st := readState(t, cfg)
			if st.Pending == nil && st.Retired == nil && st.Active.KEKID != startID {
				break // the killed child had finished
			}
			pass := activePassphrase(t, cfg, oldPass, newPass)
			c := startChild(t, fmt.Sprintf("round %d attempt %d", round, attempt), "rotate-worker", cfg,
				rotateToEnv+"="+target, rotatePassEnv+"="+pass, rotateNewPassEnv+"="+newPass)
			// Up to 3 kills per round, then let it finish.
			killAfter := -1
			if attempt < 3 {
				killAfter = 2 + rng.IntN(rotateSecrets+6)
			}
			done := false
			for n := 1; ; n++ {
				line, ok := c.next(t)
				if !ok {
					break
				}
				if strings.HasPrefix(line, "error") {
					c.wait()
					t.Fatalf("%s: %s; stderr:\n%s", c.name, line, c.stderr)
				}
				if strings.HasPrefix(line, "done") {
					done = true
					if strings.HasSuffix(line, "true") {
						resumes++
					}
				}
				if n == killAfter && !done {
					time.Sleep(time.Duration(rng.IntN(500)) * time.Microsecond)
					_ = c.cmd.Process.Kill()
					kills++
					break
				}
			}
			c.wait()
			// Whatever the instant of the kill, a fresh handle reads all.
			check := cfg
			check.Passphrase = passphrase(activePassphrase(t, cfg, oldPass, newPass), nil)
			vv, err := Open(context.Background(), check)
			if err != nil {
				t.Fatalf("after %s: Open: %v", c.name, err)
			}
			checkAll(t, vv, refs)
			vv.Close()
			if done {
				break
			}
		}
		st := readState(t, cfg)
		if st.Pending != nil || st.Retired != nil || st.Active.Source != target || st.Active.KEKID == startID {
			t.Fatalf("round %d ended in state %+v, want a finished rotation to %s", round, st, target)
		}
		assertAllUnder(t, cfg, refs, st.Active.KEKID)
		if target == KeySourcePassphrase {
			oldPass = newPass
		}
	}
	t.Logf("%d rounds, %d kills, %d resumed runs", rotateRounds, kills, resumes)
	if kills < rotateRounds {
		t.Fatalf("only %d kills in %d rounds: the schedule does not exercise interruption", kills, rotateRounds)
	}
}

// assertAllUnder fails unless every object's kek_id is kekID.
func assertAllUnder(t *testing.T, cfg Config, refs []Ref, kekID string) {
	t.Helper()
	for r, b := range rawObjects(t, cfg, refs) {
		e, err := envelope.Parse(b)
		if err != nil {
			t.Fatalf("%s: %v", r, err)
		}
		if got := fmt.Sprintf("%x", e.KEKID); got != kekID {
			t.Fatalf("%s is under key %s after the rotation, want %s", r, got, kekID)
		}
	}
}
