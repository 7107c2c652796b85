//go:build unix

package resolve

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A *_secret_ref reference resolves as Palyra's resolver does: paths
// relative to the configuration's directory, ".." resolved, the value as
// read, white space only counting as missing, and a command that gets
// Palyra's inherited set plus inherited_env and runs in that directory.
func TestResolveSecretRefFormSemantics(t *testing.T) {
	t.Setenv("HOME", "/home/palyra-test")
	t.Setenv("LANG", "C.UTF-8")
	t.Setenv("PALYRA_TEST_EXTRA", "extra-value")
	t.Setenv("PALYRA_TEST_HIDDEN", "hidden-value")
	t.Setenv("PALYRA_TEST_BLANK", " \t ")
	cfgDir := t.TempDir()
	writeFile(t, filepath.Join(cfgDir, "secrets", "key"), secretValue+"\n")
	writeFile(t, filepath.Join(cfgDir, "secrets", "blank"), "  \n")
	writeFile(t, filepath.Join(cfgDir, "other", "key"), secretValue)
	if err := os.Mkdir(filepath.Join(cfgDir, "tools"), 0o700); err != nil {
		t.Fatal(err)
	}
	symlink(t, filepath.Join(cfgDir, "secrets", "key"), filepath.Join(cfgDir, "secrets", "link"))

	parse := func(inline string) Ref {
		t.Helper()
		r, err := ParseSecretRef(decodeTable(t, inline))
		if err != nil {
			t.Fatalf("%s: %v", inline, err)
		}
		return r.InDir(cfgDir)
	}
	tests := []struct {
		name   string
		inline string
		kind   Kind
		want   string
	}{
		{"relative file, value as read", `{ kind = "file", path = "secrets/key", trusted_dirs = ["secrets"] }`, 0, secretValue + "\n"},
		{"dot-dot resolved inside the trusted dir", `{ kind = "file", path = "other/../secrets/key", trusted_dirs = ["secrets"] }`, 0, secretValue + "\n"},
		{"dot-dot out of the trusted dir is blocked", `{ kind = "file", path = "secrets/../other/key", trusted_dirs = ["secrets"] }`, Blocked, ""},
		{"white space only is missing", `{ kind = "file", path = "secrets/blank", trusted_dirs = ["secrets"] }`, Missing, ""},
		{"symlink refused without allow_symlinks", `{ kind = "file", path = "secrets/link", trusted_dirs = ["secrets"] }`, Blocked, ""},
		{"symlink followed with allow_symlinks", `{ kind = "file", path = "secrets/link", trusted_dirs = ["secrets"], allow_symlinks = true }`, 0, secretValue + "\n"},
		{"env blank is missing", `{ kind = "env", variable = "PALYRA_TEST_BLANK" }`, Missing, ""},
		{"exec runs in the config's directory", `{ kind = "exec", command = ["/bin/pwd"] }`, 0, cfgDir + "\n"},
		{"exec cwd relative to it", `{ kind = "exec", command = ["/bin/pwd"], cwd = "tools" }`, 0, filepath.Join(cfgDir, "tools") + "\n"},
		{"exec gets the inherited set and inherited_env only", `{ kind = "exec", command = ["/bin/sh", "-c", "echo $HOME $LANG ${PALYRA_TEST_EXTRA:-none} ${PALYRA_TEST_HIDDEN:-none}"],
			inherited_env = ["PALYRA_TEST_EXTRA"] }`, 0, "/home/palyra-test C.UTF-8 extra-value none\n"},
		{"exec inherited_env of key material is blocked", `{ kind = "exec", command = ["/bin/true"], inherited_env = ["PALYRA_VAULT_PASSPHRASE"] }`, Blocked, ""},
		{"exec default timeout is Palyra's second", `{ kind = "exec", command = ["/bin/sleep", "5"] }`, Timeout, ""},
		{"max_bytes counts the newline", `{ kind = "file", path = "secrets/key", trusted_dirs = ["secrets"], max_bytes = 19 }`, TooLarge, ""},
	}
	r := New(nil, Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			got, err := r.Resolve(context.Background(), parse(tt.inline))
			checkResult(t, got, err, tt.kind, tt.want)
			if tt.kind == Timeout && time.Since(start) > 4*time.Second {
				t.Errorf("the command ran %v: the default timeout was not Palyra's", time.Since(start))
			}
		})
	}
	if len(secretValue)+1 != 20 {
		t.Fatalf("the max_bytes case assumes a 19-byte value, not %d", len(secretValue))
	}
}

// Without a configuration file (a reference given on the command line) a
// relative path is relative to the working directory, as in Palyra.
func TestResolveSecretRefRelativeToWorkingDirectory(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "s", "k"), secretValue)
	t.Chdir(dir)
	ref, err := ParseSecretRef(decodeTable(t, `{ kind = "file", path = "s/k", trusted_dirs = ["s"] }`))
	if err != nil {
		t.Fatal(err)
	}
	got, err := New(nil, Options{}).Resolve(context.Background(), ref)
	checkResult(t, got, err, 0, secretValue)
	if strings.Contains(ref.File, dir) {
		t.Error("ParseSecretRef anchored the path itself")
	}
}
