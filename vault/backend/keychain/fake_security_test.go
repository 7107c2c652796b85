package keychain

// The tests of this package run against fake-security
// (internal/testutil/fakesecurity), a fake of macOS's security(1) that
// runs anywhere: what they prove holds as far as the fake models the real
// tool. The real tool is exercised on macOS only.

import (
	"os"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/internal/testutil/fakesecurity"
)

const fakeSecurityName = fakesecurity.Name

func TestMain(m *testing.M) {
	fakesecurity.RunIfFake()
	// Under -race every process sleeps a second before exiting so that
	// racing goroutines can report; the fake is run hundreds of times.
	os.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	os.Exit(m.Run())
}

// fakeSecurity is one fake installation, with the short names this
// package's tests use.
type fakeSecurity struct {
	*fakesecurity.Fake
	path string
}

func newFakeSecurity(t *testing.T) *fakeSecurity {
	t.Helper()
	f := fakesecurity.New(t)
	return &fakeSecurity{Fake: f, path: f.Path}
}

func (f *fakeSecurity) setMode(t *testing.T, mode string) { t.Helper(); f.SetMode(t, mode) }

func (f *fakeSecurity) calls(t *testing.T) []fakesecurity.Call { t.Helper(); return f.Calls(t) }

func (f *fakeSecurity) putRaw(t *testing.T, service, account string, password []byte) {
	t.Helper()
	f.PutRaw(t, service, account, password)
}

// splitLine is the fake's copy of security -i's line splitting.
func splitLine(line string) []string { return fakesecurity.SplitLine(line) }
