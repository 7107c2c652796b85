package fsutil

import (
	"io/fs"
	"os"
)

// PathStamp remembers which file a path named when it was last read. A
// vault's small state files (backend.kind, keysource.json) are only ever
// replaced by an atomic rename, which gives the path a new inode; so while
// the path still names the same file, with the same size, mode and
// modification time, what was read from it still holds and a writer can
// skip reading it again. One lstat replaces an open, a read and a close.
// The zero PathStamp remembers nothing.
type PathStamp struct {
	seen fs.FileInfo
}

// Current reports whether path still names the file last remembered. It
// also returns the path's file info (nil when lstat fails), to remember
// once the caller has read the file.
func (s *PathStamp) Current(path string) (fs.FileInfo, bool) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, false
	}
	old := s.seen
	return fi, old != nil && os.SameFile(fi, old) && fi.Size() == old.Size() &&
		fi.Mode() == old.Mode() && fi.ModTime().Equal(old.ModTime())
}

// Remember records fi, the info Current returned before the file was read.
// If the file changed between the two, the next Current call sees a
// different file and the caller reads it again.
func (s *PathStamp) Remember(fi fs.FileInfo) { s.seen = fi }
