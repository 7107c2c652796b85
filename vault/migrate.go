package vault

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/palyra/palyra-vault/internal/fsutil"
	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/internal/envelope"
	"github.com/palyra/palyra-vault/vault/internal/keysource"
)

// migrateFromFile names the file in the vault root that records the source
// backend of a migration whose marker switch happened but whose cleanup of
// the source has not finished.
const migrateFromFile = "migrate.from"

// MigrateReport says what Migrate did.
type MigrateReport struct {
	From backend.Kind `json:"from"`
	To   backend.Kind `json:"to"`
	// Copied counts the objects copied and verified in the target.
	Copied int `json:"copied"`
	// Removed counts the source copies removed after the switch.
	Removed int `json:"removed"`
	// Stale counts objects found in the target from an earlier, interrupted
	// migration that no longer exist in the source, and were removed.
	Stale int `json:"stale"`
	// Resumed reports that the call finished an interrupted migration's
	// cleanup instead of starting a new one.
	Resumed bool `json:"resumed"`
}

// Migrate moves every secret to backend to, in an order that keeps the vault
// whole whatever instant the process dies at:
//
//  1. copy every object to the target, read each back and compare bytes
//     (objects an earlier, interrupted attempt left in the target that the
//     source no longer has are removed first);
//  2. record the source kind in migrate.from, then switch the backend.kind
//     marker atomically: from here on the vault opens on the target;
//  3. remove the source copies, then migrate.from.
//
// A crash before step 2 leaves the vault on the source with every secret;
// after it, on the target with every secret. Calling Migrate again with the
// same target finishes an interrupted cleanup. Objects are moved sealed, as
// they are: nothing is decrypted. Migrate fails with ErrTooLarge, before
// copying anything, when an object exceeds the target's size limit.
func (v *Vault) Migrate(ctx context.Context, to backend.Kind) (MigrateReport, error) {
	return v.MigrateWith(ctx, to, MigrateOptions{})
}

// MigrateOptions are the choices of MigrateWith.
type MigrateOptions struct {
	// DeleteSource removes the secrets from a shared source (etcd) once
	// the vault has switched to the local target. Without it a migration
	// off a shared backend copies and never deletes: the other hosts
	// keep the shared vault. It is refused while the shared vault has
	// members other than this host. The copies of a local source are
	// always removed.
	DeleteSource bool
}

// MigrateWith is Migrate with options. A migration between a local and a
// shared backend (to etcd, or off it) also moves the vault's identity and
// key, in the same crash-safe order:
//
//   - to etcd, the prefix must be empty or hold this vault's id (an
//     earlier, interrupted attempt): Migrate writes the vault id and, when
//     there is none, a new member key wrapped to this host alone in etcd;
//     every object is copied with its data key rewrapped under that key
//     (the value is never decrypted), then the marker switches;
//   - off etcd, it writes this vault's id to vault.id and keys the local
//     vault with the state root's device key (an earlier attempt's
//     key-source file is reused when it loads), copies every object
//     rewrapped under it, then switches the marker; the shared secrets
//     stay unless opts.DeleteSource.
//
// Before the switch nothing the vault reads has changed (the files and
// records it writes are ignored by a vault on the other side); after it,
// the vault is whole on the target.
func (v *Vault) MigrateWith(ctx context.Context, to backend.Kind, opts MigrateOptions) (MigrateReport, error) {
	rep := MigrateReport{From: v.info.Backend, To: to}
	if !knownKind(to) || to == backend.KindAuto {
		return rep, fmt.Errorf("%w: unknown migration target %q: choose one of %s", ErrBackendUnavailable, truncate(string(to)), strings.Join(kindNames(), ", "))
	}
	rekey := sharedKind(v.info.Backend) != sharedKind(to)
	if src, ok := keysource.Lookup(v.keys.Source()); ok && !rekey {
		if _, err := src.Backend(to); err != nil {
			return rep, err
		}
	}
	// A rerun that finishes a migration (to is already the vault's
	// backend) follows what migrate.from recorded.
	if opts.DeleteSource && to != v.info.Backend {
		if !sharedKind(v.info.Backend) {
			return rep, fmt.Errorf("--delete-source is for a migration off a shared backend (etcd); the copies of a local backend (%s) are always removed", v.info.Backend)
		}
		if err := v.checkSoleMember(ctx); err != nil {
			return rep, err
		}
	}
	unlock, err := v.lock(ctx)
	if err != nil {
		return rep, err
	}
	defer unlock()

	if to == v.info.Backend {
		from, err := v.pendingMigrationSource()
		if err != nil || from == "" {
			if err == nil {
				err = fmt.Errorf("the vault already uses %s; nothing to migrate", to)
			}
			return rep, err
		}
		rep.From, rep.Resumed = from, true
		src, err := openBackend(ctx, from, v.site())
		if err != nil {
			return rep, fmt.Errorf("finishing the interrupted migration from %s: %w", from, err)
		}
		defer src.Close()
		rep.Removed, err = v.removeSourceCopies(ctx, src)
		return rep, err
	}

	dst, err := openBackend(ctx, to, v.site())
	if err != nil {
		return rep, err
	}
	switched := false
	defer func() {
		if !switched {
			dst.Close()
		}
	}()
	// A file left half-written in the target by an earlier attempt
	// killed mid-copy (the vault's own writes clean its backend's).
	if c, ok := dst.(interface{ RemoveStaleTemps() (int, error) }); ok {
		_, _ = c.RemoveStaleTemps() // best effort: readers ignore temps anyway
	}
	src := v.backend
	var target *rekeyTarget
	if rekey {
		if target, err = v.prepareRekey(ctx, dst); err != nil {
			return rep, err
		}
		defer func() {
			if !switched {
				target.keys.Wipe()
			}
		}()
	}
	ids, err := src.List(ctx)
	if err != nil {
		return rep, fmt.Errorf("listing %s objects: %w", src.Kind(), translate(err))
	}
	if rep.Stale, err = removeStale(ctx, dst, ids); err != nil {
		return rep, err
	}
	for _, id := range ids {
		if target != nil {
			err = v.copyRewrapped(ctx, src, dst, id, target.kek)
		} else {
			err = copyVerified(ctx, src, dst, id)
		}
		if err != nil {
			return rep, err
		}
		rep.Copied++
	}

	// Off a shared backend the source is cleaned up only when asked:
	// without a migrate.from record there is nothing to resume.
	cleanup := !sharedKind(src.Kind()) || opts.DeleteSource
	fromPath := filepath.Join(v.info.Root, migrateFromFile)
	if cleanup {
		if err := fsutil.WriteFileAtomic(fromPath, []byte(string(src.Kind())+"\n"), 0o600); err != nil {
			return rep, fmt.Errorf("recording the migration: %w", err)
		}
	}
	if err := writeMarker(v.info.Root, to); err != nil {
		return rep, fmt.Errorf("switching the backend marker to %s: %w", to, err)
	}
	switched = true
	v.backend, v.info.Backend = dst, to
	if target != nil {
		v.keys.Wipe()
		v.keys, v.shared = target.keys, target.shared
		v.guesses = map[backend.ObjectID]objectGuess{}
	}
	v.describeBackend()
	defer src.Close()
	if !cleanup {
		return rep, nil
	}
	rep.Removed, err = v.removeSourceCopies(ctx, src)
	return rep, err
}

// MigratingFrom returns the backend an interrupted migration of the vault
// cfg describes still has to remove its copies from (its migrate.from
// record), or "" when there is none: one small file read, so that palyra
// can hand the rerun that finishes a migration off etcd to palyra-extra.
func MigratingFrom(cfg Config) backend.Kind {
	_, root, err := resolvePaths(cfg)
	if err != nil {
		return ""
	}
	data, err := fsutil.ReadFileLimited(filepath.Join(root, migrateFromFile), 256)
	if err != nil {
		return ""
	}
	return backend.Kind(strings.TrimSpace(string(data)))
}

// removeStale deletes objects of dst that are not in keep.
func removeStale(ctx context.Context, dst backend.Backend, keep []backend.ObjectID) (int, error) {
	have, err := dst.List(ctx)
	if err != nil {
		return 0, fmt.Errorf("listing %s objects: %w", dst.Kind(), translate(err))
	}
	want := make(map[backend.ObjectID]bool, len(keep))
	for _, id := range keep {
		want[id] = true
	}
	n := 0
	for _, id := range have {
		if want[id] {
			continue
		}
		if _, err := dst.Delete(ctx, id); err != nil {
			return n, fmt.Errorf("removing stale object %s from %s: %w", id, dst.Kind(), translate(err))
		}
		n++
	}
	return n, nil
}

// copyVerified copies one object and reads it back from dst.
func copyVerified(ctx context.Context, src, dst backend.Backend, id backend.ObjectID) error {
	blob, err := src.Get(ctx, id)
	if errors.Is(err, backend.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading object %s from %s: %w", id, src.Kind(), translate(err))
	}
	name := string(id)
	if h, _, err := envelope.ParseHeader(blob); err == nil {
		name = Ref{Scope: h.Scope, Key: h.Key}.String()
	}
	return copyChecked(ctx, dst, id, name, blob)
}

// copyChecked stores blob as id on a migration's target and reads it back,
// failing, with the source untouched, when the target cannot hold it or
// gives back other bytes. name says which secret it is in errors.
func copyChecked(ctx context.Context, dst backend.Backend, id backend.ObjectID, name string, blob []byte) error {
	if len(blob) > dst.MaxBlobSize() {
		return fmt.Errorf("%w: %s is %d bytes sealed, the %s backend holds at most %d; delete or shrink it, then migrate again",
			ErrTooLarge, name, len(blob), dst.Kind(), dst.MaxBlobSize())
	}
	if err := dst.Put(ctx, id, blob); err != nil {
		return fmt.Errorf("copying %s to %s: %w", name, dst.Kind(), translate(err))
	}
	back, err := dst.Get(ctx, id)
	if err != nil {
		return fmt.Errorf("reading back %s from %s: %w", name, dst.Kind(), translate(err))
	}
	if !bytes.Equal(back, blob) {
		return fmt.Errorf("%w: %s read back from %s differs from what was written; the source is untouched", ErrCorrupt, name, dst.Kind())
	}
	return nil
}

// pendingMigrationSource returns the source kind of an interrupted
// migration's cleanup, or "" when there is none. The caller holds the
// writer lock: a record left by a migration that never switched the marker
// is removed.
func (v *Vault) pendingMigrationSource() (backend.Kind, error) {
	data, err := fsutil.ReadFileLimited(filepath.Join(v.info.Root, migrateFromFile), 256)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", migrateFromFile, err)
	}
	from := backend.Kind(strings.TrimSpace(string(data)))
	if from == v.info.Backend {
		// A migration from this backend died after recording its source
		// and before switching the marker: the vault never left, every
		// secret is here, and what it copied to the target is removed as
		// stale by the next attempt. The record is stale; drop it.
		if err := os.Remove(filepath.Join(v.info.Root, migrateFromFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("removing the stale %s: %w", migrateFromFile, err)
		}
		return "", fsutil.SyncDir(v.info.Root)
	}
	if !knownKind(from) {
		return "", fmt.Errorf("%w: %s names %q, which is not a backend this vault can have migrated from; remove the file", ErrCorrupt, migrateFromFile, truncate(string(from)))
	}
	return from, nil
}

// removeSourceCopies deletes every object from the migration's source, then
// the migrate.from record.
func (v *Vault) removeSourceCopies(ctx context.Context, src backend.Backend) (int, error) {
	ids, err := src.List(ctx)
	if err != nil {
		return 0, fmt.Errorf("listing %s objects to remove: %w", src.Kind(), translate(err))
	}
	n := 0
	for _, id := range ids {
		if _, err := src.Delete(ctx, id); err != nil {
			return n, fmt.Errorf("removing object %s from %s (rerun the migration to finish): %w", id, src.Kind(), translate(err))
		}
		n++
	}
	if err := os.Remove(filepath.Join(v.info.Root, migrateFromFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return n, fmt.Errorf("removing %s: %w", migrateFromFile, err)
	}
	return n, fsutil.SyncDir(v.info.Root)
}
