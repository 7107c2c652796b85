// Package backup is the age encryption of vault backups: the sealers that
// vault.Export takes (to a passphrase, to age recipients) and the openers
// that vault.Import takes (from a passphrase, from age identities). The
// backup's plaintext format, its size caps and the checks Import makes
// before writing anything are package vault's; docs/FORMAT.md ("Backup
// files") specifies both layers.
//
// It is a package of its own for start-up time: every program pays the
// package initialisation of everything it links, and filippo.io/age (with
// its HPKE and ML-KEM code) is a noticeable share of a small program's
// start-up. Only the programs that make or restore backups import this
// package; package vault does not.
//
// A backup is an age file (https://age-encryption.org/v1). A passphrase
// backup has one scrypt recipient with age's default work factor,
// WorkFactor; FromPassphrase refuses a work factor above MaxWorkFactor
// before doing any scrypt work, since the factor is chosen by whoever
// wrote the file. Errors never show a passphrase.
package backup

import (
	"errors"
	"fmt"
	"io"
	"strconv"

	"filippo.io/age"

	"github.com/palyra/palyra-vault/internal/testhook"
	"github.com/palyra/palyra-vault/vault"
	"github.com/palyra/palyra-vault/vault/internal/keysource"
)

// Scrypt work factors (log2 of scrypt's N) of passphrase backups.
const (
	// WorkFactor is what ToPassphrase writes: age's default, 2^18, which
	// takes about 256 MiB and a second.
	WorkFactor = 18
	// MaxWorkFactor is the largest work factor FromPassphrase accepts:
	// WorkFactor plus one doubling. Each step doubles scrypt's memory and
	// time (age's own limit, 2^22, takes 4 GiB and half a minute), and
	// the factor is chosen by whoever wrote the file, so an untrusted
	// backup must not choose it freely.
	MaxWorkFactor = WorkFactor + 1
)

// passphraseWhat names the backup passphrase in errors about it.
const passphraseWhat = "backup passphrase"

// testCheapWorkFactor, set by this package's tests, makes ToPassphrase
// use the cheapest work factor. Test binaries of other packages ask for
// it with $PALYRA_TEST_CHEAP_KDF (testhook.CheapKDF).
var testCheapWorkFactor bool

// workFactor is the scrypt work factor ToPassphrase writes: WorkFactor,
// or 1 in a test that asked for cheap key derivation.
func workFactor() int {
	if testCheapWorkFactor || testhook.CheapKDF() {
		return 1
	}
	return WorkFactor
}

// ToPassphrase returns a sealer that encrypts a backup to a passphrase
// (an age scrypt recipient, work factor WorkFactor). Seal calls get once,
// when the backup is about to be written; the passphrase must be 8 to 1024
// bytes, and the slice is wiped after use.
func ToPassphrase(get func() ([]byte, error)) vault.BackupSealer {
	return passphraseSealer{get}
}

type passphraseSealer struct{ get func() ([]byte, error) }

// Seal reads the passphrase and starts an age file on w.
func (s passphraseSealer) Seal(w io.Writer) (io.WriteCloser, error) {
	pass, err := keysource.ReadPassphrase(s.get, passphraseWhat, true)
	if err != nil {
		return nil, err
	}
	r, err := age.NewScryptRecipient(string(pass))
	clear(pass)
	if err != nil {
		return nil, fmt.Errorf("exporting: %w", err)
	}
	r.SetWorkFactor(workFactor())
	return encrypt(w, r)
}

// ToRecipients returns a sealer that encrypts a backup to age recipients,
// such as X25519 public keys (age1…) parsed with age.ParseRecipients. Seal
// fails when rs is empty.
func ToRecipients(rs []age.Recipient) vault.BackupSealer {
	return recipientsSealer{rs}
}

type recipientsSealer struct{ rs []age.Recipient }

// Seal starts an age file for the recipients on w.
func (s recipientsSealer) Seal(w io.Writer) (io.WriteCloser, error) {
	if len(s.rs) == 0 {
		return nil, errors.New("exporting: no age recipients to encrypt the backup to; nothing was written: give at least one")
	}
	return encrypt(w, s.rs...)
}

func encrypt(w io.Writer, rs ...age.Recipient) (io.WriteCloser, error) {
	aw, err := age.Encrypt(w, rs...)
	if err != nil {
		return nil, fmt.Errorf("exporting: encrypting the backup: %w", err)
	}
	return aw, nil
}

// FromPassphrase returns an opener that decrypts a passphrase backup. Open
// calls get once; the slice is wiped after use. A passphrase that does not
// open the backup is vault.ErrWrongPassphrase; a work factor above
// MaxWorkFactor, or a file that is not an age file, is vault.ErrBadBackup.
func FromPassphrase(get func() ([]byte, error)) vault.BackupOpener {
	return passphraseOpener{get}
}

type passphraseOpener struct{ get func() ([]byte, error) }

// Open reads the passphrase and decrypts the age header of r.
func (o passphraseOpener) Open(r io.Reader) (io.Reader, error) {
	pass, err := keysource.ReadPassphrase(o.get, passphraseWhat, false)
	if err != nil {
		return nil, err
	}
	id, err := age.NewScryptIdentity(string(pass))
	clear(pass)
	if err != nil {
		return nil, fmt.Errorf("importing: %w", err)
	}
	id.SetMaxWorkFactor(MaxWorkFactor)
	plain, err := age.Decrypt(r, cappedScrypt{id})
	if err != nil {
		return nil, decryptError(err, true)
	}
	return plain, nil
}

// FromIdentities returns an opener that decrypts a backup made for age
// recipients, with identities such as X25519 ones (AGE-SECRET-KEY-1…)
// parsed with age.ParseIdentities. A backup none of them opens, or a file
// that is not an age file, is vault.ErrBadBackup; Open fails when ids is
// empty.
func FromIdentities(ids []age.Identity) vault.BackupOpener {
	return identitiesOpener{ids}
}

type identitiesOpener struct{ ids []age.Identity }

// Open decrypts the age header of r.
func (o identitiesOpener) Open(r io.Reader) (io.Reader, error) {
	if len(o.ids) == 0 {
		return nil, errors.New("importing: no age identities to decrypt the backup with; nothing was imported: give at least one")
	}
	plain, err := age.Decrypt(r, o.ids...)
	if err != nil {
		return nil, decryptError(err, false)
	}
	return plain, nil
}

// decryptError maps an error of age.Decrypt to the vault's errors.
func decryptError(err error, passphrase bool) error {
	var nm *age.NoIdentityMatchError
	switch {
	case errors.Is(err, vault.ErrBadBackup):
		return err // cappedScrypt's, already explained
	case errors.As(err, &nm) && passphrase:
		return fmt.Errorf("%w: it does not decrypt this backup (or the backup was made for age recipients, not a passphrase)", vault.ErrWrongPassphrase)
	case errors.As(err, &nm):
		return fmt.Errorf("%w: none of the given identities can decrypt this backup: %v", vault.ErrBadBackup, err)
	}
	return fmt.Errorf("%w: not a readable age file: %v", vault.ErrBadBackup, err)
}

// cappedScrypt is a passphrase identity that refuses a backup whose scrypt
// work factor is above MaxWorkFactor with an error that says the cap,
// before any scrypt work is done. (age's own limit, set too, would refuse
// it with a bare "work factor too large".)
type cappedScrypt struct{ id *age.ScryptIdentity }

// Unwrap checks the work factor of every scrypt stanza, then lets age
// unwrap the file key.
func (c cappedScrypt) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	for _, s := range stanzas {
		if s.Type != "scrypt" || len(s.Args) != 2 {
			continue
		}
		if logN, err := strconv.Atoi(s.Args[1]); err == nil && logN > MaxWorkFactor {
			return nil, fmt.Errorf("%w: its scrypt work factor is 2^%d, and palyra accepts at most 2^%d "+
				"(its own exports use 2^%d); nothing was decrypted: re-encrypt it with a lower work factor, "+
				"or export it again with palyra", vault.ErrBadBackup, logN, MaxWorkFactor, WorkFactor)
		}
	}
	return c.id.Unwrap(stanzas)
}
