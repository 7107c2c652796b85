package vault

import (
	"io/fs"

	"github.com/palyra/palyra-vault/internal/fsutil"
)

// fileStamp remembers which file a path named when it was last read (see
// fsutil.PathStamp, which the key sources use for keysource.json too).
type fileStamp struct{ s fsutil.PathStamp }

// current reports whether path still names the file last remembered, and
// returns its info to remember (see fsutil.PathStamp.Current).
func (s *fileStamp) current(path string) (fs.FileInfo, bool) { return s.s.Current(path) }

// remember records fi, the info current returned before the file was read.
func (s *fileStamp) remember(fi fs.FileInfo) { s.s.Remember(fi) }
