//go:build unix

package filestore

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/palyra/palyra-vault/internal/fsutil"
	"github.com/palyra/palyra-vault/vault/backend"
)

func TestObjectReadsTightenReadableAndRefuseWritable(t *testing.T) {
	readers := map[string]func(s *Store, id backend.ObjectID) ([]byte, error){
		"Get": func(s *Store, id backend.ObjectID) ([]byte, error) { return s.Get(context.Background(), id) },
		"GetPrefix": func(s *Store, id backend.ObjectID) ([]byte, error) {
			return s.GetPrefix(context.Background(), id, 16)
		},
		"ListPrefixes": func(s *Store, id backend.ObjectID) ([]byte, error) {
			ps, err := s.ListPrefixes(context.Background(), backend.PrefixQuery{Max: 64, Keep: keep16, CacheKey: cacheTestKey})
			if err != nil || len(ps) != 1 {
				return nil, errors.Join(err, errors.New("want exactly one prefix"))
			}
			return ps[0].Data, ps[0].Err
		},
	}
	for name, read := range readers {
		for _, tt := range []struct {
			mode, want fs.FileMode
			refused    bool
		}{
			{0o600, 0o600, false},
			{0o644, 0o600, false},
			{0o640, 0o600, false},
			{0o666, 0o666, true},
			{0o620, 0o620, true},
		} {
			t.Run(name+"/"+tt.mode.String(), func(t *testing.T) {
				var mu sync.Mutex
				var calls []fsutil.Tightening
				s, err := New(filepath.Join(t.TempDir(), "vault"), Options{OnTightened: func(tg fsutil.Tightening) {
					mu.Lock()
					defer mu.Unlock()
					calls = append(calls, tg)
				}})
				if err != nil {
					t.Fatal(err)
				}
				id := testID(1)
				if err := s.Put(context.Background(), id, testBlob(1, 1)); err != nil {
					t.Fatal(err)
				}
				path := s.path(id)
				if err := os.Chmod(path, tt.mode); err != nil {
					t.Fatal(err)
				}
				for range 2 { // the second read finds nothing more to report
					data, err := read(s, id)
					if tt.refused {
						if !errors.Is(err, backend.ErrPermission) || !strings.Contains(err.Error(), "chmod 600") {
							t.Fatalf("read = %v, want ErrPermission with the chmod", err)
						}
					} else if err != nil || !strings.HasPrefix(string(testBlob(1, 1)), string(data)) || len(data) == 0 {
						t.Fatalf("read = %q, %v; want the blob", data, err)
					}
				}
				var want []fsutil.Tightening
				if tt.mode != tt.want {
					want = []fsutil.Tightening{{Path: path, From: tt.mode, To: tt.want}}
				}
				if len(calls) != len(want) || (len(want) == 1 && calls[0] != want[0]) {
					t.Fatalf("OnTightened calls %+v, want %+v", calls, want)
				}
				if fi, err := os.Lstat(path); err != nil || fi.Mode().Perm() != tt.want {
					t.Fatalf("mode afterwards %v (%v), want %04o", fi.Mode(), err, tt.want)
				}
			})
		}
	}
}
