package fsutil

import (
	"path/filepath"
	"testing"

	"github.com/palyra/palyra-vault/internal/testutil"
)

func TestPathStampSeesEveryAtomicReplacementEvenWithTheSameContent(t *testing.T) {
	path := filepath.Join(testutil.TempDir(t), "backend.kind")
	var s PathStamp
	if _, same := s.Current(path); same {
		t.Fatal("a missing file counts as current")
	}
	if err := WriteFileAtomic(path, []byte("encrypted_file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fi, same := s.Current(path)
	if same || fi == nil {
		t.Fatalf("a file never remembered counts as current (%v)", same)
	}
	s.Remember(fi)
	if _, same := s.Current(path); !same {
		t.Fatal("the remembered file does not count as current")
	}
	// Same bytes, same size, possibly the same mtime: still a new file.
	if err := WriteFileAtomic(path, []byte("encrypted_file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, same := s.Current(path); same {
		t.Fatal("a file replaced by rename counts as current")
	}
}
