//go:build !linux && !darwin

package filestore

import (
	"context"

	"github.com/palyra/palyra-vault/vault/backend"
)

var _ backend.HeaderLister = (*Store)(nil)

// ListPrefixes returns the first q.Max bytes of every object (shortened by
// q.Keep), reading every object file: this platform has no header cache
// (it needs inode change times, see fsutil.FileStamp), so q.CacheKey is
// ignored.
func (s *Store) ListPrefixes(ctx context.Context, q backend.PrefixQuery) ([]backend.Prefix, error) {
	if err := s.listReady(ctx); err != nil {
		return nil, err
	}
	return s.listPrefixes(ctx, q)
}
