//go:build palyra_fixturegen

package vault

import "time"

// This file lends the fixture generator (fixture_gen_test.go, same build
// tag) the two test hooks it needs. Neither the generator nor these hooks
// are part of the normal test suite: the fixtures they wrote must never be
// rewritten by later code (testdata/fixtures/README.md).

// SetClockForFixtureGen makes v stamp the secrets it writes with now().
func SetClockForFixtureGen(v *Vault, now func() time.Time) { v.now = now }

// SetRotateHookForFixtureGen sets the hook RotateKey calls at each step
// ("pending", "stored", "rewrapped", "switched", "dropped"); nil removes it.
func SetRotateHookForFixtureGen(hook func(step string)) { rotateHook = hook }

// CheapKDFForFixtureGen reports whether new passphrase keys use the
// cheapest Argon2id parameters, so that the fixtures open fast.
func CheapKDFForFixtureGen() bool { return useCheapKDF() }
