// Package config finds, reads and rewrites palyra.toml, the configuration
// file whose secret settings hold references instead of values.
//
// Find locates the file (an explicit path, $PALYRA_CONFIG, else
// <user config dir>/palyra/palyra.toml). Load and Parse read it into a
// Document; Walk visits every value with its dotted path and References
// returns every secret reference in it (a string field whose name ends in
// "_vault_ref", a table under a key ending in "_secret_ref" (Palyra's
// SecretRef), or an inline table with a vault_ref, env, file or exec field;
// see docs/REFERENCES.md), reporting broken ones, and settings given twice,
// with their path and the rule they break. PalyraIncompatibilities says what
// in the file Palyra's own schema would refuse (docs/COMPAT.md).
//
// SetVaultRef rewrites the file's bytes so that a setting holds a vault
// reference and its plaintext value is gone, changing nothing else — not a
// comment, not a blank line, not the order of keys — and refuses to return a
// result that does not parse back to exactly the intended content.
// SetString, Unset and ApplyPreset (the edits of Palyra's own configure
// presets) edit the file the same way.
// UpdateConfig rewrites the file under an exclusive lock (LockPath,
// ".palyra.toml.lock" beside it): it re-reads the file, lets the caller
// compute the new content from it, and writes that atomically, keeping the
// file's mode and rotating backups. A command that stores a secret and then
// points the config at it should run SetVaultRef first, so that a config it
// cannot rewrite is reported before anything is stored, then store the
// secret, then call UpdateConfig and apply SetVaultRef again to the content
// it reads under the lock.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/palyra/palyra-vault/internal/readlimit"
)

// Names and limits.
const (
	// FileName is the configuration file's name.
	FileName = "palyra.toml"
	// EnvConfig names the environment variable that points at the
	// configuration file when no explicit path is given.
	EnvConfig = "PALYRA_CONFIG"
	// MaxSize is the largest configuration file Load reads: 1 MiB.
	MaxSize = 1 << 20
)

// Source says how Find chose a path.
type Source string

// The ways Find chooses a path, in order of precedence.
const (
	SourceExplicit Source = "explicit" // the caller's path (--config)
	SourceEnv      Source = "env"      // $PALYRA_CONFIG
	SourceDefault  Source = "default"  // the platform's config directory
)

// Location is where the configuration file is, and why there.
type Location struct {
	// Path is absolute. The file may not exist yet.
	Path string
	// Source says which rule chose Path.
	Source Source
}

// Find returns where the configuration file is: explicit when it is not
// empty, else $PALYRA_CONFIG when it is set and not empty, else
// os.UserConfigDir()/palyra/palyra.toml ($XDG_CONFIG_HOME or ~/.config on
// Linux, ~/Library/Application Support on macOS, %AppData% on Windows).
// It does not check that the file exists; it fails only when no default
// directory can be found.
func Find(explicit string) (Location, error) {
	loc := Location{Path: explicit, Source: SourceExplicit}
	if loc.Path == "" {
		loc = Location{Path: os.Getenv(EnvConfig), Source: SourceEnv}
	}
	if loc.Path == "" {
		dir, err := os.UserConfigDir()
		if err != nil {
			return Location{}, fmt.Errorf("finding the configuration file: %w; set %s or pass --config", err, EnvConfig)
		}
		loc = Location{Path: filepath.Join(dir, "palyra", FileName), Source: SourceDefault}
	}
	abs, err := filepath.Abs(loc.Path)
	if err != nil {
		return Location{}, fmt.Errorf("finding the configuration file %q: %w", loc.Path, err)
	}
	loc.Path = abs
	return loc, nil
}

// Document is a parsed configuration file. It is read-only.
type Document struct {
	path  string
	data  []byte
	tree  map[string]any
	index map[string]nodeInfo
}

// ParseError reports a configuration file that is not valid TOML. Its
// message gives the position and the parser's reason, never the line's
// content (which may hold a secret).
type ParseError struct {
	// Path is the file, or "" when the bytes did not come from a file.
	Path string
	// Line and Column are 1-based; 0 when unknown.
	Line, Column int
	// Reason is the parser's message.
	Reason string
}

// Error returns "parsing <file>: line L, column C: <reason>".
func (e *ParseError) Error() string {
	name := e.Path
	if name == "" {
		name = "configuration"
	}
	if e.Line > 0 {
		return fmt.Sprintf("parsing %s: line %d, column %d: %s", name, e.Line, e.Column, e.Reason)
	}
	return fmt.Sprintf("parsing %s: %s", name, e.Reason)
}

// decode parses TOML into a generic tree, turning a decode error into a
// *ParseError.
// utf8BOM is the UTF-8 encoding of U+FEFF, the byte-order mark.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

func decode(data []byte) (map[string]any, error) {
	if bytes.HasPrefix(data, utf8BOM) {
		// Some Windows editors save one; the TOML parser would report an
		// unexplained "invalid character" at line 1, column 1.
		return nil, &ParseError{Line: 1, Column: 1, Reason: "the file starts with a UTF-8 byte-order mark (EF BB BF), which TOML does not allow: save it as UTF-8 without BOM"}
	}
	tree := map[string]any{}
	if err := toml.Unmarshal(data, &tree); err != nil {
		pe := &ParseError{Reason: strings.TrimPrefix(err.Error(), "toml: ")}
		var de *toml.DecodeError
		if errors.As(err, &de) {
			pe.Line, pe.Column = de.Position()
		}
		return nil, pe
	}
	return tree, nil
}

// Parse parses the bytes of a configuration file. It fails with a
// *ParseError. The Document keeps data; do not modify it afterwards.
func Parse(data []byte) (*Document, error) {
	tree, err := decode(data)
	if err != nil {
		return nil, err
	}
	sc, err := scan(data)
	if err != nil {
		return nil, err
	}
	return &Document{data: data, tree: tree, index: sc.index}, nil
}

// Load reads and parses the configuration file at path, following symbolic
// links. It fails with an error wrapping fs.ErrNotExist when the file is
// missing, with a clear error when it is not a regular file or is larger
// than MaxSize, and with a *ParseError naming the file when it is not valid
// TOML.
func Load(path string) (*Document, error) {
	data, err := readConfig(path)
	if err != nil {
		return nil, err
	}
	d, err := Parse(data)
	if err != nil {
		var pe *ParseError
		if errors.As(err, &pe) {
			pe.Path = path
		}
		return nil, err
	}
	d.path = path
	return d, nil
}

// ReadFile returns the bytes of the configuration file at path, following
// symbolic links, refusing a file that is not regular or is larger than
// MaxSize. A missing file is an error wrapping fs.ErrNotExist.
func ReadFile(path string) ([]byte, error) { return readConfig(path) }

func readConfig(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("reading configuration: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("reading configuration %q: not a regular file", path)
	}
	if fi.Size() > MaxSize {
		return nil, fmt.Errorf("reading configuration %q: %d bytes, more than the %d-byte limit", path, fi.Size(), MaxSize)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading configuration: %w", err)
	}
	defer f.Close()
	data, err := readlimit.ReadAll(f, MaxSize, int(fi.Size()))
	if errors.Is(err, readlimit.ErrTooLarge) {
		return nil, fmt.Errorf("reading configuration %q: more than the %d-byte limit", path, MaxSize)
	}
	if err != nil {
		return nil, fmt.Errorf("reading configuration %q: %w", path, err)
	}
	return data, nil
}

// Path returns the file the Document was loaded from, or "".
func (d *Document) Path() string { return d.path }

// Bytes returns the document's source. Do not modify it.
func (d *Document) Bytes() []byte { return d.data }

// Tree returns the decoded document as go-toml decodes into a map: tables
// are map[string]any, arrays []any, integers int64, floats float64, and
// dates toml.LocalDate, toml.LocalDateTime, toml.LocalTime or time.Time.
// Do not modify it.
func (d *Document) Tree() map[string]any { return d.tree }

// Line returns the 1-based line on which the value at the dotted path (as
// Walk reports it) is defined, or 0 when the path is not defined explicitly
// (a table implied by a longer key).
func (d *Document) Line(path string) int { return d.index[path].line }
