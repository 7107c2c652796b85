//go:build unix

package fsutil

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/internal/testutil"
)

// permCase is one starting state of a file or directory and what the rule
// makes of it: the mode it ends with, or the refusal (and no change).
type permCase struct {
	name    string
	dir     bool
	mode    fs.FileMode
	want    fs.FileMode // the mode afterwards
	refused string      // a fragment of the refusal; "" when accepted
}

var permCases = []permCase{
	{"private dir", true, 0o700, 0o700, ""},
	{"dir others can read", true, 0o755, 0o700, ""},
	{"dir others can search", true, 0o711, 0o700, ""},
	{"dir the group can write", true, 0o770, 0o770, "chmod 700"},
	{"dir anyone can write", true, 0o777, 0o777, "chmod 700"},
	{"private file", false, 0o600, 0o600, ""},
	{"owner-only executable file", false, 0o700, 0o700, ""},
	{"file others can read", false, 0o644, 0o600, ""},
	{"file the group can read", false, 0o640, 0o600, ""},
	{"file the group can write", false, 0o620, 0o620, "chmod 600"},
	{"file anyone can write", false, 0o666, 0o666, "chmod 600"},
}

// makePerm creates tc's file or directory in a new temp dir.
func makePerm(t *testing.T, tc permCase) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "x")
	var err error
	if tc.dir {
		err = os.Mkdir(path, 0o700)
	} else {
		err = os.WriteFile(path, []byte("content"), 0o600)
	}
	if err == nil {
		err = os.Chmod(path, tc.mode)
	}
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func checkOutcome(t *testing.T, tc permCase, path string, tg Tightening, err error) {
	t.Helper()
	if tc.refused != "" {
		if !errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), tc.refused) {
			t.Fatalf("err = %v, want ErrUnsafe saying %q", err, tc.refused)
		}
		if tg.Changed() {
			t.Fatalf("refused, yet reported a tightening %+v", tg)
		}
	} else if err != nil {
		t.Fatalf("err = %v, want none", err)
	}
	wantT := Tightening{}
	if tc.refused == "" && tc.mode != tc.want {
		wantT = Tightening{Path: path, From: tc.mode, To: tc.want}
	}
	if tg != wantT {
		t.Fatalf("Tightening = %+v, want %+v", tg, wantT)
	}
	fi, lerr := os.Lstat(path)
	if lerr != nil || fi.Mode().Perm() != tc.want {
		t.Fatalf("mode afterwards %v (lstat: %v), want %04o", fi.Mode(), lerr, tc.want)
	}
}

func TestSecureTightensReadableAndRefusesWritable(t *testing.T) {
	for _, tc := range permCases {
		t.Run(tc.name, func(t *testing.T) {
			path := makePerm(t, tc)
			tg, err := Secure(path, tc.dir)
			checkOutcome(t, tc, path, tg, err)
		})
	}
}

func TestPrivateReadsApplyTheRuleThroughTheDescriptor(t *testing.T) {
	readers := map[string]func(string) ([]byte, Tightening, error){
		"ReadPrivateFile":   func(p string) ([]byte, Tightening, error) { return ReadPrivateFile(p, 100) },
		"ReadPrivatePrefix": func(p string) ([]byte, Tightening, error) { return ReadPrivatePrefix(p, 3) },
		"ReadPrefixAt": func(p string) ([]byte, Tightening, error) {
			if !StampsSupported {
				return ReadPrivatePrefix(p, 3)
			}
			d, err := os.Open(filepath.Dir(p))
			if err != nil {
				return nil, Tightening{}, err
			}
			defer d.Close()
			b, _, tg, err := ReadPrefixAt(d, filepath.Base(p), 3)
			return b, tg, err
		},
	}
	for rname, read := range readers {
		for _, tc := range permCases {
			if tc.dir {
				continue
			}
			t.Run(rname+"/"+tc.name, func(t *testing.T) {
				path := makePerm(t, tc)
				data, tg, err := read(path)
				checkOutcome(t, tc, path, tg, err)
				if tc.refused != "" && data != nil {
					t.Fatalf("refused, yet returned %d bytes", len(data))
				}
				if tc.refused == "" && (len(data) == 0 || !strings.HasPrefix("content", string(data))) {
					t.Fatalf("read %q, want a prefix of the content", data)
				}
			})
		}
	}
}

func TestCheckChangesNothingAndRefusesWhatSecureWouldTouch(t *testing.T) {
	for _, tc := range permCases {
		t.Run(tc.name, func(t *testing.T) {
			path := makePerm(t, tc)
			err := Check(path, tc.dir)
			if ok := tc.refused == "" && tc.mode == tc.want; ok != (err == nil) {
				t.Fatalf("Check = %v; want an error: %v", err, !ok)
			}
			if err != nil && (!errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), "chmod")) {
				t.Fatalf("Check = %v, want ErrUnsafe with a chmod hint", err)
			}
			if fi, _ := os.Lstat(path); fi.Mode().Perm() != tc.mode {
				t.Fatalf("Check changed the mode to %v", fi.Mode())
			}
		})
	}
}

func TestSecureRefusesSymlinkWrongTypeAndAnotherOwner(t *testing.T) {
	base := t.TempDir()
	target := filepath.Join(base, "target")
	if err := os.WriteFile(target, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "link")
	testutil.Symlink(t, target, link)
	for _, dir := range []bool{false, true} {
		if _, err := Secure(link, dir); !errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), "symbolic link") {
			t.Errorf("Secure(symlink, dir=%v) = %v, want a symlink refusal", dir, err)
		}
	}
	if _, err := Secure(target, true); !errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("Secure(file as dir) = %v, want a type refusal", err)
	}
	if fi, _ := os.Stat(target); fi.Mode().Perm() != 0o644 {
		t.Errorf("the symlink's target was changed to %v", fi.Mode())
	}
	if _, err := Secure(filepath.Join(base, "missing"), false); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Secure(missing) = %v, want fs.ErrNotExist", err)
	}

	if os.Geteuid() != 0 {
		testutil.SkipOrFailInCI(t, "needs root to give a file to another user")
	}
	if err := os.Lchown(target, 54321, 54321); err != nil {
		t.Fatal(err)
	}
	if _, err := Secure(target, false); !errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), "chown") {
		t.Errorf("Secure(another user's file) = %v, want a chown refusal", err)
	}
	if _, _, err := ReadPrivateFile(target, 10); !errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), "chown") {
		t.Errorf("ReadPrivateFile(another user's file) = %v, want a chown refusal", err)
	}
	if fi, _ := os.Stat(target); fi.Mode().Perm() != 0o644 {
		t.Errorf("another user's file was changed to %v", fi.Mode())
	}
}
