// Package present holds how the "palyra secrets" verbs show a secret: the
// JSON form of its metadata, the time format, the hints that point at
// other commands and the shell quoting of what those hints suggest. It
// links no command-line library (see package lean).
package present

import (
	"fmt"
	"strings"
	"time"

	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
)

// SecretJSON is the JSON form of one secret's metadata, as printed by
// set, get and list with --json. It never holds the value. It carries the
// fields of Palyra's SecretMetadata (crates/palyra-control-plane: scope,
// key, created_at_unix_ms, updated_at_unix_ms, value_bytes) beside ours.
type SecretJSON struct {
	Ref     string    `json:"ref"`
	Scope   string    `json:"scope"`
	Key     string    `json:"key"`
	Size    int       `json:"size"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
	// Palyra's names for Created, Updated and Size.
	CreatedMS  int64 `json:"created_at_unix_ms"`
	UpdatedMS  int64 `json:"updated_at_unix_ms"`
	ValueBytes int   `json:"value_bytes"`
}

// FromMetadata converts vault metadata to its JSON form, times in UTC.
func FromMetadata(m vault.Metadata) SecretJSON {
	return SecretJSON{
		Ref:     m.Ref().String(),
		Scope:   m.Scope,
		Key:     m.Key,
		Size:    m.Size,
		Created: m.Created.UTC(),
		Updated: m.Updated.UTC(),

		CreatedMS:  m.Created.UnixMilli(),
		UpdatedMS:  m.Updated.UnixMilli(),
		ValueBytes: m.Size,
	}
}

// FormatTime formats t for text output: RFC 3339 in UTC, to the second.
func FormatTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// ListHint tells the user how to see what is stored in scope.
func ListHint(scope string) string {
	return fmt.Sprintf("run \"palyra secrets list %s\" to see what is stored", ShellQuote(scope))
}

// RefArgs returns the arguments that address r on a command line, ready to
// paste into a shell: "<scope> <key>", each quoted when it holds a space or
// another shell character (a Palyra scope may), or the one quoted ref
// "vault://<scope>/<key>" when the key starts with '-' and would be read as
// a flag.
func RefArgs(r secret.Ref) string {
	if strings.HasPrefix(r.Key, "-") {
		return ShellQuote(r.String())
	}
	return ShellQuote(r.Scope) + " " + ShellQuote(r.Key)
}
