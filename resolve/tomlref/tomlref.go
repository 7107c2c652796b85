// Package tomlref parses the string form of a secret reference in full
// (docs/REFERENCES.md): the short forms that package resolve reads itself
// (resolve.ParseString: vault://<scope>/<key>, env:<NAME>, file:<path>)
// and a TOML inline table as in palyra.toml, such as
// { exec = ["pass", "show", "openai"], timeout_ms = 2000 }.
//
// It is apart from package resolve because an inline table needs a TOML
// decoder (github.com/pelletier/go-toml/v2), and every process pays, before
// main, for every package its binary links: the palyra command resolves
// the short forms and hands a command line that needs an inline table to
// palyra-extra, which links this package (docs/PERFORMANCE.md,
// "Start-up"). Whatever links this package reads every form.
package tomlref

import (
	"errors"
	"fmt"

	"github.com/palyra/palyra-vault/resolve"
	"github.com/pelletier/go-toml/v2"
)

// Parse parses the string form of a reference: the short forms as
// resolve.ParseString does, and a TOML inline table as
// resolve.ParseInlineTable does (Palyra's SecretRef when it has a kind
// field: { kind = "env", variable = "OPENAI_API_KEY" }). Commands have no
// short form: write them as an inline table. Parse fails with a
// *resolve.Error of kind Invalid that does not quote s; a table that is not
// valid TOML is reported by its line and column.
func Parse(s string) (resolve.Ref, error) {
	if !resolve.IsInlineTable(s) {
		return resolve.ParseString(s)
	}
	var doc map[string]any
	if err := toml.Unmarshal([]byte("ref = "+s), &doc); err != nil {
		msg := "not a valid TOML inline table"
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, col := de.Position()
			if row == 1 {
				col -= len("ref = ")
			}
			msg += fmt.Sprintf(" (line %d, column %d)", row, col)
		}
		return resolve.Ref{}, invalid(msg)
	}
	m, ok := doc["ref"].(map[string]any)
	if !ok || len(doc) != 1 {
		return resolve.Ref{}, invalid("not a single TOML inline table")
	}
	return resolve.ParseInlineTable(m)
}

// invalid is an Invalid *resolve.Error with no reference description, as
// package resolve reports its own grammar errors. msg never quotes the
// reference's text: a secret pasted where a reference belongs must not
// reach a log.
func invalid(msg string) error {
	return &resolve.Error{Kind: resolve.Invalid, Err: errors.New(msg)}
}
