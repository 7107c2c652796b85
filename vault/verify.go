package vault

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/palyra/palyra-vault/internal/fsutil"
	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/backend/dpapi"
	"github.com/palyra/palyra-vault/vault/backend/filestore"
	"github.com/palyra/palyra-vault/vault/internal/envelope"
	"github.com/palyra/palyra-vault/vault/internal/keysource"
)

// Kinds of problem Verify reports, as VerifyProblem.Kind spells them.
const (
	// ProblemCorrupt: an object does not parse or fails authentication
	// (damaged, truncated, edited, or moved from another secret).
	ProblemCorrupt = "corrupt"
	// ProblemWrongKey: an object is sealed under a key this vault does
	// not hold.
	ProblemWrongKey = "wrong_key"
	// ProblemUnreadable: the backend failed to return one object.
	ProblemUnreadable = "unreadable"
	// ProblemUnavailable: the backend or the key's OS store cannot be
	// reached at all.
	ProblemUnavailable = "unavailable"
	// ProblemStrayTemp: a temporary file a crashed writer left behind
	// (harmless; the next write removes it).
	ProblemStrayTemp = "stray_temp"
	// ProblemPermission: a file or directory of the vault is unsafe
	// (another owner, group or world access, a symbolic link).
	ProblemPermission = "permission"
	// ProblemMarker: the backend.kind marker disagrees with the open
	// backend or with what is on disk, or a migration is unfinished.
	ProblemMarker = "marker"
	// ProblemKey: the vault's key cannot be loaded from its source, or
	// the source holds another key.
	ProblemKey = "key"
	// ProblemRotation: a key rotation was interrupted; rerun it.
	ProblemRotation = "rotation_pending"
)

// VerifyProblem is one thing Verify found wrong. It never holds a value.
type VerifyProblem struct {
	// Kind is one of the Problem* constants.
	Kind string `json:"kind"`
	// Scope and Key name the secret, when its header could be read.
	Scope string `json:"scope,omitempty"`
	Key   string `json:"key,omitempty"`
	// ObjectID names the object, for object problems.
	ObjectID backend.ObjectID `json:"object_id,omitempty"`
	// Path names the file, for file problems.
	Path string `json:"path,omitempty"`
	// Detail says what is wrong, in one line.
	Detail string `json:"detail"`
	// Hint says what to do about it, when there is advice.
	Hint string `json:"hint,omitempty"`
}

// VerifyReport is the result of Verify. It marshals to JSON as is.
type VerifyReport struct {
	Root      string       `json:"vault_root"`
	Backend   backend.Kind `json:"backend"`
	KeySource string       `json:"key_source"`
	// Objects counts the objects the backend listed; Healthy those that
	// opened and authenticated.
	Objects int `json:"objects"`
	Healthy int `json:"healthy"`
	// Problems lists everything found wrong, objects first in object id
	// order, then files and keys. Empty when the vault is healthy.
	Problems []VerifyProblem `json:"problems"`
}

// OK reports whether Verify found no problem.
func (r *VerifyReport) OK() bool { return len(r.Problems) == 0 }

// Verify checks the whole vault and reports every problem it finds: it
// opens and authenticates every object (reporting a damaged or unreadable
// one by scope and key, or by object id when its header is damaged), and
// checks the vault's files and directories for unsafe permissions, stray
// temporary files, a backend.kind marker that disagrees with the backend,
// an unfinished migration or key rotation, and whether the backend and the
// key's source can be reached. It changes nothing and never returns a
// value. The error is non-nil only when ctx ends or the vault's key cannot
// be loaded (see Unlock: a wrong passphrase, a missing device key);
// problems, including an unreachable backend, are in the report.
func (v *Vault) Verify(ctx context.Context) (VerifyReport, error) {
	rep := VerifyReport{Root: v.info.Root, Backend: v.info.Backend, KeySource: v.keys.Source(), Problems: []VerifyProblem{}}
	if err := v.Unlock(ctx); err != nil {
		return rep, err
	}
	if err := v.verifyObjects(ctx, &rep); err != nil {
		return rep, err
	}
	v.verifyFiles(ctx, &rep)
	v.verifyKeys(ctx, &rep)
	return rep, ctx.Err()
}

func (r *VerifyReport) add(p VerifyProblem) { r.Problems = append(r.Problems, p) }

func (v *Vault) verifyObjects(ctx context.Context, rep *VerifyReport) error {
	ids, err := v.backend.List(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		rep.add(VerifyProblem{Kind: ProblemUnavailable, Detail: fmt.Sprintf("listing objects of the %s backend: %v", v.info.Backend, translate(err)), Hint: hintOf(err)})
		return nil
	}
	slices.Sort(ids)
	rep.Objects = len(ids)
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return err
		}
		if p, ok := v.verifyObject(ctx, id); ok {
			rep.Healthy++
		} else if p.Kind != "" {
			rep.add(p)
		}
	}
	return nil
}

// verifyObject opens object id. It returns ok for a healthy object, and a
// zero problem for one deleted since List.
func (v *Vault) verifyObject(ctx context.Context, id backend.ObjectID) (VerifyProblem, bool) {
	blob, err := v.backend.Get(ctx, id)
	if errors.Is(err, backend.ErrNotFound) {
		return VerifyProblem{}, false
	}
	if err != nil {
		kind := ProblemUnreadable
		if errors.Is(err, backend.ErrUnavailable) {
			kind = ProblemUnavailable
		}
		return VerifyProblem{Kind: kind, ObjectID: id, Detail: translate(err).Error(), Hint: hintOf(err)}, false
	}
	h, _, err := envelope.ParseHeader(blob)
	if err != nil {
		return VerifyProblem{Kind: ProblemCorrupt, ObjectID: id, Detail: "header damaged: " + err.Error(),
			Hint: "the secret's name cannot be read; if a newer palyra wrote it (a name outside this version's grammar), upgrade palyra and keep the object; otherwise restore it from a backup, or delete it"}, false
	}
	if envelope.ObjectID(h.Scope, h.Key) != id {
		return VerifyProblem{Kind: ProblemCorrupt, ObjectID: id,
			Detail: fmt.Sprintf("header names %s, which belongs under another object id (moved or edited)", Ref{Scope: h.Scope, Key: h.Key}),
			Hint:   "restore the object from a backup, or delete it"}, false
	}
	p := VerifyProblem{Scope: h.Scope, Key: h.Key, ObjectID: id}
	kek, err := v.keys.KEKFor(ctx, blob)
	if err != nil {
		p.Kind, p.Detail, p.Hint = ProblemKey, err.Error(), "the vault's key cannot be loaded, so no secret can be checked"
		return p, false
	}
	_, value, err := envelope.Open(kek, h.Scope, h.Key, blob)
	clear(value)
	switch {
	case err == nil:
		return p, true
	case errors.Is(err, envelope.ErrWrongKey):
		p.Kind, p.Detail = ProblemWrongKey, err.Error()
		p.Hint = "it was sealed under a key this vault does not hold: restore the vault's key, or delete the secret and set it again"
	default:
		p.Kind, p.Detail = ProblemCorrupt, err.Error()
		p.Hint = fmt.Sprintf("restore it from a backup, or delete it and set it again (palyra secrets delete %s %s)", h.Scope, h.Key)
	}
	return p, false
}

// verifyFiles checks permissions, temporary files and the marker.
func (v *Vault) verifyFiles(ctx context.Context, rep *VerifyReport) {
	root := v.info.Root
	perm := func(what, path string, isDir bool) {
		// The rule Open enforces (fsutil.Secure), checked without
		// changing anything.
		err := fsutil.Check(path, isDir)
		if errors.Is(err, fs.ErrNotExist) {
			return
		}
		if err != nil {
			p := VerifyProblem{Kind: ProblemPermission, Path: path, Detail: what + ": " + err.Error()}
			var ue *fsutil.UnsafeError
			if errors.As(err, &ue) {
				p.Detail, p.Hint = fmt.Sprintf("%s %s", what, ue.Problem), ue.Fix
			}
			rep.add(p)
		}
	}
	perm("vault root", root, true)
	for _, name := range []string{markerFile, lockFile, keySourceFile, idFile, migrateFromFile} {
		perm(name, filepath.Join(root, name), false)
	}
	objDirs := []string{filepath.Join(root, filestore.ObjectsDir), filepath.Join(root, dpapi.DirName)}
	for _, dir := range objDirs {
		perm("object directory", dir, true)
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if backend.ObjectID(e.Name()).Valid() {
				perm("object file", filepath.Join(dir, e.Name()), false)
			}
		}
	}
	st := v.keys.State() // as loaded: the file itself may be unreadable
	for _, s := range []*keysource.Spec{&st.Active, st.PendingSpec(), st.Retired} {
		if s == nil {
			continue
		}
		src, _ := keysource.Lookup(s.Source)
		for _, path := range src.Files(v.keySite(), s) {
			perm(s.Source+" key directory", filepath.Dir(path), true)
			perm(s.Source+" key", path, false)
		}
	}

	// Temporary files, under the writer lock so that a write in progress
	// is not reported.
	if unlock, err := fsutil.LockExclusive(ctx, filepath.Join(root, lockFile)); err == nil {
		for _, dir := range append([]string{root}, objDirs...) {
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if fsutil.IsTemp(e.Name()) && !e.IsDir() {
					rep.add(VerifyProblem{Kind: ProblemStrayTemp, Path: filepath.Join(dir, e.Name()),
						Detail: "temporary file left by a writer that died", Hint: "harmless: the next write to the vault removes it"})
				}
			}
		}
		_ = unlock()
	}

	kind, err := readMarker(root)
	switch {
	case err != nil:
		rep.add(VerifyProblem{Kind: ProblemMarker, Path: filepath.Join(root, markerFile), Detail: err.Error()})
	case kind != v.info.Backend:
		rep.add(VerifyProblem{Kind: ProblemMarker, Path: filepath.Join(root, markerFile),
			Detail: fmt.Sprintf("the marker names %q but this handle opened %s", kind, v.info.Backend), Hint: "another process migrated the vault; verify again"})
	}
	if _, err := os.Lstat(filepath.Join(root, migrateFromFile)); err == nil {
		rep.add(VerifyProblem{Kind: ProblemMarker, Path: filepath.Join(root, migrateFromFile),
			Detail: "a migration between backends did not finish its cleanup", Hint: "run the migration again to finish it"})
	}
	if v.info.Backend != backend.KindEncryptedFile {
		dir := filepath.Join(root, filestore.ObjectsDir)
		entries, _ := os.ReadDir(dir)
		n := 0
		for _, e := range entries {
			if backend.ObjectID(e.Name()).Valid() {
				n++
			}
		}
		if n > 0 {
			rep.add(VerifyProblem{Kind: ProblemMarker, Path: dir,
				Detail: fmt.Sprintf("%d encrypted_file objects lie here but the marker names %s, so they are not part of the vault", n, v.info.Backend),
				Hint:   "they are left over from another backend; move them away once you are sure they are not needed"})
		}
	}
}

// verifyKeys checks the key-source file, an unfinished rotation, and that
// the active key still loads from its source and is the right one.
func (v *Vault) verifyKeys(ctx context.Context, rep *VerifyReport) {
	path := keysource.Path(v.info.Root)
	if v.shared != nil {
		path = keysource.Where(v.info.Root, v.shared)
	}
	st, _, err := keysource.Read(ctx, v.info.Root, v.shared)
	if err != nil {
		if !errors.Is(err, ErrPermission) { // reported with the other files
			rep.add(VerifyProblem{Kind: ProblemKey, Path: path, Detail: err.Error(), Hint: "restore the key source file from a backup"})
		}
		return
	}
	if st == nil {
		rep.add(VerifyProblem{Kind: ProblemKey, Path: path, Detail: "the key source file is missing", Hint: "restore it from a backup; without it the vault's key source is unknown"})
		return
	}
	if st.Pending != nil || st.Retired != nil {
		rep.add(VerifyProblem{Kind: ProblemRotation, Path: path, Detail: "a key rotation was interrupted", Hint: "run the rotation again (palyra secrets rotate-key) to finish it; every secret stays readable meanwhile"})
	}
	activeErr := v.keys.ActiveErr()
	if activeErr != nil {
		rep.add(VerifyProblem{Kind: ProblemKey, Detail: activeErr.Error(), Hint: "restore the vault's original key from a backup"})
	}
	// Load the active key afresh from its source, unless that needs the
	// user (a passphrase key was checked when it was derived).
	src, _ := keysource.Lookup(st.Active.Source)
	if src.Interactive() {
		return
	}
	kek, err := src.Load(ctx, v.keySite(), &st.Active, nil)
	if kek != nil {
		clear(kek[:])
	}
	if err == nil || (activeErr != nil && errors.Is(err, keysource.ErrKeyMismatch)) {
		return // a mismatch is reported above
	}
	p := VerifyProblem{Kind: ProblemKey, Detail: err.Error(), Hint: hintOf(err)}
	if errors.Is(err, ErrBackendUnavailable) {
		p.Kind = ProblemUnavailable
	}
	if files := src.Files(v.keySite(), &st.Active); len(files) == 1 {
		p.Path = files[0]
	}
	rep.add(p)
}

// hintOf returns the hint an error carries (the Secret Service backend's
// errors have one), or "".
func hintOf(err error) string {
	var h interface{ Hint() string }
	if errors.As(err, &h) {
		return strings.TrimSpace(h.Hint())
	}
	return ""
}
