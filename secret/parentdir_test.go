package secret

import (
	"errors"
	"path/filepath"
	"testing"
)

func TestCheckNoParentDir(t *testing.T) {
	tests := []struct {
		path    string
		refused bool
	}{
		{"/var/lib/palyra", false},
		{"state", false},
		{"./state", false},
		{"a..b/..c", false},
		{"", false},
		{"..", true},
		{"../state", true},
		{"/srv/palyra/../etc", true},
		{"state/..", true},
		{filepath.Join("a", "..", "b"), false}, // Join cleans it away
	}
	for _, tt := range tests {
		err := CheckNoParentDir("vault root", tt.path)
		if got := errors.Is(err, ErrParentDir); got != tt.refused {
			t.Errorf("CheckNoParentDir(%q) = %v, want refused %v", tt.path, err, tt.refused)
		}
	}
}

func TestStateRootRefusesParentDir(t *testing.T) {
	t.Setenv(EnvStateRoot, "/tmp/x/../y")
	if _, err := StateRoot(""); !errors.Is(err, ErrParentDir) {
		t.Fatalf("StateRoot with $%s holding .. = %v, want ErrParentDir", EnvStateRoot, err)
	}
	if _, err := StateRoot("../y"); !errors.Is(err, ErrParentDir) {
		t.Fatalf("StateRoot(../y) = %v, want ErrParentDir", err)
	}
}
