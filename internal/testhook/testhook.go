// Package testhook marks a process as a test binary, so that a hook meant
// for tests alone (the cheap key derivation of PALYRA_TEST_CHEAP_KDF) can
// check for one without importing package testing: testing.Testing would
// link testing, flag and runtime/trace into every release binary and run
// their init on every palyra command.
//
// Only test code (a TestMain or an init in a _test.go file) calls
// MarkTestBinary; TestOnlyTestsMark checks that no other file does.
package testhook

import (
	"os"
	"sync/atomic"
)

// EnvCheapKDF, set to "1" in a test binary, asks for the cheapest key
// derivation: new passphrase keys of package vault and passphrase backups
// of package vault/backup. vault.EnvTestCheapKDF is the same name.
const EnvCheapKDF = "PALYRA_TEST_CHEAP_KDF"

var inTest atomic.Bool

// MarkTestBinary records that this process is a test binary. Call it from
// test code only.
func MarkTestBinary() { inTest.Store(true) }

// InTestBinary reports whether MarkTestBinary was called in this process.
func InTestBinary() bool { return inTest.Load() }

// CheapKDF reports whether this process is a test binary (MarkTestBinary
// was called) whose environment sets $PALYRA_TEST_CHEAP_KDF to "1". It is
// the one check every cheap-KDF hook makes, so that a palyra built for use
// never honours the variable.
func CheapKDF() bool { return InTestBinary() && os.Getenv(EnvCheapKDF) == "1" }
