package vault

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/palyra/palyra-vault/vault/internal/envelope"
)

// ForeignSecret is one secret that another store holds, to be copied into
// this vault with its own times by ImportSecrets.
type ForeignSecret struct {
	Scope, Key       string
	Value            []byte
	Created, Updated time.Time
}

// SecretsImportReport says what ImportSecrets did (or, for a dry run,
// would do) with each secret, in the order given.
type SecretsImportReport struct {
	// Imported are the secrets written (would be written).
	Imported []Ref `json:"imported"`
	// Unchanged are the secrets this vault already holds with the same
	// value and times: an import run again finds every secret here.
	Unchanged []Ref `json:"unchanged"`
	// Conflicts are the secrets this vault holds with another value or
	// other times; they were left as they are.
	Conflicts []Ref `json:"conflicts"`
}

// ImportSecrets copies secrets into the vault with their exact bytes,
// scope, key and times, under the writer lock. A secret the vault lacks is
// written; one it holds with the same value and times is left alone
// (unchanged); one it holds otherwise is a conflict and left alone too,
// so importing the same secrets again changes nothing. With dryRun it
// writes nothing and reports what it would do. Every name must pass
// Ref.Validate and every value the vault's size limits, and each time must
// fit the envelope (1677 to 2262): the caller checks, and an invalid
// secret stops the import before anything is written. It fails on the
// first write that fails, having written those before it.
func (v *Vault) ImportSecrets(ctx context.Context, secrets []ForeignSecret, dryRun bool) (SecretsImportReport, error) {
	rep := SecretsImportReport{Imported: []Ref{}, Unchanged: []Ref{}, Conflicts: []Ref{}}
	for _, s := range secrets {
		if err := v.CheckImportable(s); err != nil {
			return rep, fmt.Errorf("importing: nothing was imported: %w", err)
		}
	}
	unlock, err := v.lock(ctx)
	if err != nil {
		return rep, err
	}
	defer unlock()
	for _, s := range secrets {
		ref := Ref{Scope: s.Scope, Key: s.Key}
		old, meta, err := v.Get(ctx, s.Scope, s.Key)
		switch {
		case errors.Is(err, ErrNotFound):
		case err == nil:
			same := bytes.Equal(old.Reveal(), s.Value) && meta.Created.Equal(s.Created) && meta.Updated.Equal(s.Updated)
			old.Wipe()
			if same {
				rep.Unchanged = append(rep.Unchanged, ref)
			} else {
				rep.Conflicts = append(rep.Conflicts, ref)
			}
			continue
		default:
			// Present but unreadable here (damaged, another key): a
			// conflict, never overwritten.
			rep.Conflicts = append(rep.Conflicts, ref)
			continue
		}
		if !dryRun {
			h := envelope.Header{Scope: s.Scope, Key: s.Key, Created: s.Created, Updated: s.Updated}
			if err := v.store(ctx, h, s.Value); err != nil {
				return rep, fmt.Errorf("importing %s (%d secrets were written before it): %w", ref, len(rep.Imported), err)
			}
		}
		rep.Imported = append(rep.Imported, ref)
	}
	return rep, nil
}

// CheckImportable reports why ImportSecrets would refuse s: a name outside
// the grammar, a value over the vault's or the backend's limit, or a time
// outside what an envelope holds.
func (v *Vault) CheckImportable(s ForeignSecret) error {
	ref := Ref{Scope: s.Scope, Key: s.Key}
	if err := ref.Validate(); err != nil {
		return err
	}
	if len(s.Value) > v.info.MaxSecretSize || len(s.Value) > v.maxValueSize(s.Scope, s.Key) {
		return fmt.Errorf("%w: %s is %d bytes, more than this vault holds", ErrTooLarge, ref, len(s.Value))
	}
	if !inSealRange(s.Created) || !inSealRange(s.Updated) {
		return fmt.Errorf("%s: its times are outside the years 1677 to 2262 an envelope holds", ref)
	}
	return nil
}
