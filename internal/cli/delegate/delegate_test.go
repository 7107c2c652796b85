package delegate

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/internal/cli/clierr"
)

// TestPathIsBesideTheExecutable checks where palyra-extra is looked for:
// the running executable's directory, never $PATH.
func TestPathIsBesideTheExecutable(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	self, _ = filepath.EvalSymlinks(self)
	got, err := Path()
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(filepath.Dir(self), Program)
	if runtime.GOOS == "windows" {
		want += ".exe"
	}
	if got != want {
		t.Fatalf("Path() = %s, want %s", got, want)
	}
}

// TestExecWithoutPalyraExtraSaysWhatIsMissing checks the error of a
// delegated command when palyra-extra is not beside the executable (the
// test binary's directory has none): it names the command, the program and
// where it looked, wraps ErrNotInstalled, and hints at the install.
func TestExecWithoutPalyraExtraSaysWhatIsMissing(t *testing.T) {
	path, _ := Path()
	if _, err := os.Stat(path); err == nil {
		t.Skipf("%s exists beside the test binary", path)
	}
	err := Exec([]string{"secrets", "export"}, []string{"-o", "backup.age"})
	if !errors.Is(err, ErrNotInstalled) {
		t.Fatalf("err = %v, want ErrNotInstalled", err)
	}
	for _, want := range []string{`"palyra secrets export"`, Program, path} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if hints := clierr.Hints(err); len(hints) == 0 || !strings.Contains(hints[0], "scripts/build.sh") {
		t.Errorf("hints = %q, want one naming scripts/build.sh", hints)
	}
	if strings.Contains(err.Error(), "backup.age") {
		t.Errorf("error %q repeats the command line's arguments", err)
	}
}

// TestExecNamesOnlyKnownCommandsFromArgs checks the error of a command
// line handed over whole (words nil, as palyra's lean front does) when
// palyra-extra is missing: it names a delegated command that args start
// with, and otherwise no argument at all, since a stray one may be a
// secret.
func TestExecNamesOnlyKnownCommandsFromArgs(t *testing.T) {
	path, _ := Path()
	if _, err := os.Stat(path); err == nil {
		t.Skipf("%s exists beside the test binary", path)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"secrets", "export", "-o", "sk-backup"}, `"palyra secrets export" needs`},
		{[]string{"secrets", "members", "add", "sk-recipient"}, `"palyra secrets members add" needs`},
		{[]string{"sk-proj-secret"}, "this palyra command needs"},
		{[]string{"secrets", "get", "global", "sk-key"}, "this palyra command needs"},
	}
	for _, tt := range tests {
		err := Exec(nil, tt.args)
		if !errors.Is(err, ErrNotInstalled) || !strings.HasPrefix(err.Error(), tt.want) || strings.Contains(err.Error(), "sk-") {
			t.Errorf("Exec(nil, %q) = %v, want an error starting %s that repeats no argument", tt.args, err, tt.want)
		}
	}
}
