// Package testhook marks a process as a test binary, so that a hook meant
// for tests alone (the cheap key derivation of PALYRA_TEST_CHEAP_KDF) can
// check for one without importing package testing: testing.Testing would
// link testing, flag and runtime/trace into every release binary and run
// their init on every palyra command.
//
// Only test code (a TestMain or an init in a _test.go file) calls
// MarkTestBinary; TestOnlyTestsMark checks that no other file does.
package testhook

import "sync/atomic"

var inTest atomic.Bool

// MarkTestBinary records that this process is a test binary. Call it from
// test code only.
func MarkTestBinary() { inTest.Store(true) }

// InTestBinary reports whether MarkTestBinary was called in this process.
func InTestBinary() bool { return inTest.Load() }
