// Package shared holds what the "palyra secrets" verbs print in common: the
// JSON form of a secret's metadata, the time format and the hints that
// point at other commands.
package shared

import (
	"fmt"
	"strings"
	"time"

	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
)

// SecretJSON is the JSON form of one secret's metadata, as printed by
// set, get, list and delete with --json. It never holds the value.
type SecretJSON struct {
	Ref     string    `json:"ref"`
	Scope   string    `json:"scope"`
	Key     string    `json:"key"`
	Size    int       `json:"size"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
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
