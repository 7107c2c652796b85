// Package keyflags gives the key-management verbs of "palyra secrets" their
// passphrases: from a file named by a flag, from an environment variable,
// or from a no-echo prompt on the terminal, in that order, and never from
// argv (which other users can read in the process list).
package keyflags

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/palyra/palyra-vault/internal/cli/clierr"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/internal/readlimit"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
)

// The names of the passphrase-file flags. The vault's passphrase has one
// name everywhere, VaultPassphraseFileFlag (a persistent flag of "palyra
// secrets" and a flag of "palyra daemon"); OldPassphraseFileFlag is its
// former name on the key verbs, hidden and still accepted. The new
// passphrase of init and rotate-key (NewPassphraseFileFlag) and the
// passphrase of a backup (--backup-passphrase-file of export and import)
// are other passphrases, with flags of their own.
const (
	VaultPassphraseFileFlag = "vault-passphrase-file"
	OldPassphraseFileFlag   = "passphrase-file"
	NewPassphraseFileFlag   = "new-passphrase-file"
)

// Environment variables that hold passphrases when no file is given.
const (
	// EnvPassphrase holds the passphrase of a passphrase vault (and of a
	// backup, for export and import). Like every variable that carries key
	// material, it is listed in secret.KeyMaterialEnv.
	EnvPassphrase = secret.EnvVaultPassphrase
	// EnvNewPassphrase holds the new passphrase of init and rotate-key.
	EnvNewPassphrase = secret.EnvNewVaultPassphrase
)

// Source says where one passphrase comes from.
type Source struct {
	IO *iostreams.IOStreams
	// File is the path given by a --…passphrase-file flag; "" for none.
	File string
	// Env names the environment variable consulted when File is "".
	Env string
	// Prompt is shown on the terminal when neither gives a passphrase.
	Prompt string
	// Confirm asks twice on the terminal (for a new passphrase).
	Confirm bool
	// What names the passphrase in errors, e.g. "vault passphrase".
	What string
	// FileFlag names the flag that sets File, for hints.
	FileFlag string
	// Getenv reads the environment; nil means os.Getenv.
	Getenv func(string) string
}

// VaultPassphrase returns the passphrase function of a passphrase vault:
// the file given with the flag fileFlag (file, "" for none), else
// $PALYRA_VAULT_PASSPHRASE, else a no-echo prompt on the terminal.
func VaultPassphrase(io *iostreams.IOStreams, file, fileFlag string) func() ([]byte, error) {
	return Source{
		IO: io, File: file, Env: EnvPassphrase,
		Prompt: "Vault passphrase: ", What: "vault passphrase", FileFlag: fileFlag,
	}.Func()
}

// NewVaultPassphrase returns the function that reads the new passphrase of
// a passphrase vault (init, rotate-key): the file given with
// --new-passphrase-file, else $PALYRA_VAULT_NEW_PASSPHRASE, else a no-echo
// prompt on the terminal, asked twice.
func NewVaultPassphrase(io *iostreams.IOStreams, file string) func() ([]byte, error) {
	return Source{
		IO: io, File: file, Env: EnvNewPassphrase,
		Prompt: "New vault passphrase: ", Confirm: true, What: "new vault passphrase", FileFlag: "--" + NewPassphraseFileFlag,
	}.Func()
}

// Func returns a function that reads the passphrase when called. The
// caller (the vault) wipes what it returns.
func (s Source) Func() func() ([]byte, error) {
	return s.read
}

func (s Source) read() ([]byte, error) {
	if s.File != "" {
		return readFile(s.File, s.What)
	}
	getenv := s.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	if v := getenv(s.Env); v != "" {
		return []byte(v), nil
	}
	if s.IO == nil || !s.IO.CanPrompt() {
		return nil, clierr.WithHints(fmt.Errorf("the %s is needed and there is no terminal to ask on", s.What),
			fmt.Sprintf("give it with %s FILE, or set $%s", s.FileFlag, s.Env))
	}
	first, err := s.IO.ReadSecret(s.Prompt)
	if err != nil {
		return nil, err
	}
	if !s.Confirm {
		return first, nil
	}
	second, err := s.IO.ReadSecret("Enter it again to confirm: ")
	defer clear(second)
	if err != nil {
		clear(first)
		return nil, err
	}
	if subtle.ConstantTimeCompare(first, second) != 1 {
		clear(first)
		return nil, clierr.WithHints(fmt.Errorf("the two entries of the %s differ", s.What), "run the command again and type the same passphrase twice")
	}
	return first, nil
}

// readFile reads a passphrase file: its whole content, less one trailing
// newline (LF or CRLF), at most vault.MaxPassphraseLen bytes.
func readFile(path, what string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading the %s: %w", what, err)
	}
	defer f.Close()
	// "+2": a final "\r\n" is not part of the passphrase.
	b, err := readlimit.ReadAll(f, vault.MaxPassphraseLen+2, 0)
	if errors.Is(err, readlimit.ErrTooLarge) {
		return nil, fmt.Errorf("the %s in %q is longer than %d bytes", what, path, vault.MaxPassphraseLen)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the %s from %q: %w", what, path, err)
	}
	n := len(b)
	if n > 0 && b[n-1] == '\n' {
		n--
		if n > 0 && b[n-1] == '\r' {
			n--
		}
	}
	if n > vault.MaxPassphraseLen {
		clear(b)
		return nil, fmt.Errorf("the %s in %q is longer than %d bytes", what, path, vault.MaxPassphraseLen)
	}
	clear(b[n:])
	if n == 0 {
		return nil, errors.New("the " + what + " file " + fmt.Sprintf("%q", path) + " is empty")
	}
	return b[:n], nil
}

// Hints returns the hints for a passphrase error from the vault.
func Hints(err error) []string {
	switch {
	case errors.Is(err, vault.ErrWrongPassphrase):
		return []string{"check the passphrase (and for a file, that it holds only the passphrase and at most one final newline)"}
	case errors.Is(err, vault.ErrPassphraseRequired):
		return []string{fmt.Sprintf("give the passphrase with --%s FILE, or set $%s", VaultPassphraseFileFlag, EnvPassphrase)}
	}
	return nil
}

// FlagSet is the part of a *pflag.FlagSet that this package uses. It is an
// interface so that the package links no flag library: the lean front of
// palyra (package lean) reads passphrases with it and parses its own flags.
type FlagSet interface {
	StringVar(p *string, name, value, usage string)
	String(name, value, usage string) *string
	MarkHidden(name string) error
	Changed(name string) bool
	GetString(name string) (string, error)
}

// AddVaultPassphraseFile declares --vault-passphrase-file on fs, storing
// the path in p. "palyra secrets" declares it once, as a persistent flag.
func AddVaultPassphraseFile(fs FlagSet, p *string) {
	fs.StringVar(p, VaultPassphraseFileFlag, "", fmt.Sprintf("file holding the passphrase of a passphrase vault (default $%s, else a prompt on the terminal)", EnvPassphrase))
}

// AddOldPassphraseFile declares --passphrase-file, the former name of
// --vault-passphrase-file on the key verbs (rotate-key, verify, export,
// import, import-keyring), hidden from help. VaultPassphraseFile reads it.
func AddOldPassphraseFile(fs FlagSet) {
	fs.String(OldPassphraseFileFlag, "", "old name of --"+VaultPassphraseFileFlag)
	_ = fs.MarkHidden(OldPassphraseFileFlag)
}

// AddNewPassphraseFile declares --new-passphrase-file on fs, storing the
// path in p: the file holding the new passphrase (init, rotate-key).
func AddNewPassphraseFile(fs FlagSet, p *string, usage string) {
	fs.StringVar(p, NewPassphraseFileFlag, "", usage)
}

// VaultPassphraseFile returns the passphrase file that the parsed flags fs
// name: --vault-passphrase-file, or its old name --passphrase-file (with a
// warning on w, naming the new one). Both together is a usage error.
// "" means none was given.
func VaultPassphraseFile(fs FlagSet, w io.Writer) (string, error) {
	cur, _ := fs.GetString(VaultPassphraseFileFlag) // "" when fs lacks it
	if !fs.Changed(OldPassphraseFileFlag) {
		return cur, nil
	}
	if fs.Changed(VaultPassphraseFileFlag) {
		return "", clierr.UsageErrorf("--%s is the old name of --%s: give only --%s", OldPassphraseFileFlag, VaultPassphraseFileFlag, VaultPassphraseFileFlag)
	}
	fmt.Fprintf(w, "palyra: warning: --%s is the old name of --%s; use --%s\n", OldPassphraseFileFlag, VaultPassphraseFileFlag, VaultPassphraseFileFlag)
	old, _ := fs.GetString(OldPassphraseFileFlag)
	return old, nil
}
