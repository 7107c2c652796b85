package runrun

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/palyra/palyra-vault/internal/readlimit"
	"github.com/palyra/palyra-vault/resolve"
)

// MaxEnvFileSize bounds the env file: 1 MiB.
const MaxEnvFileSize = 1 << 20

// binding is one variable to set in the child: its name, the reference
// that supplies it, and where it was given (for messages).
type binding struct {
	Name   string
	Ref    resolve.Ref
	Origin string // "--env #2" or `env file "x.env", line 3`
}

// parseBinding parses "NAME=<ref>", the reference with parseRef. Errors name origin and the rule, never
// the text: a plaintext value written where a reference belongs must not be
// echoed.
func parseBinding(parseRef func(string) (resolve.Ref, error), s, origin string) (binding, error) {
	name, refText, ok := strings.Cut(s, "=")
	if !ok {
		return binding{}, fmt.Errorf("%s: expected NAME=<reference>", origin)
	}
	if !validName(name) {
		return binding{}, fmt.Errorf("%s: the name before '=' must match [A-Za-z_][A-Za-z0-9_]*", origin)
	}
	refText = strings.TrimSpace(refText)
	if refText == "" {
		return binding{}, fmt.Errorf("%s: %s has no reference after '='", origin, name)
	}
	ref, err := parseRef(refText)
	if err != nil {
		return binding{}, fmt.Errorf("%s: %s: %w", origin, name, err)
	}
	return binding{Name: name, Ref: ref, Origin: origin}, nil
}

// validName reports whether name is a portable environment variable name.
func validName(name string) bool {
	if name == "" || len(name) > resolve.MaxNameLen {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// parseEnvFile reads an env file, parsing references with parseRef: one "NAME=<reference>" per line, where the
// reference is any string form (vault://scope/key, env:NAME, file:/path or
// a TOML inline table on one line). Blank lines and lines whose first
// non-blank character is '#' are ignored; a leading "export " is allowed;
// a reference wrapped whole in matching single or double quotes is
// unwrapped. A name given twice is an error. At most MaxEnvFileSize bytes
// are read (a pipe such as <(…) works too).
func parseEnvFile(parseRef func(string) (resolve.Ref, error), path string) ([]binding, error) {
	data, err := readLimited(path)
	if err != nil {
		return nil, err
	}
	var out []binding
	seen := map[string]int{}
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		origin := fmt.Sprintf("env file %q, line %d", path, n)
		if name, val, ok := strings.Cut(line, "="); ok {
			val = strings.TrimSpace(val)
			if len(val) >= 2 && (val[0] == '"' || val[0] == '\'') && val[len(val)-1] == val[0] {
				line = strings.TrimSpace(name) + "=" + val[1:len(val)-1]
			} else {
				line = strings.TrimSpace(name) + "=" + val
			}
		}
		b, err := parseBinding(parseRef, line, origin)
		if errors.Is(err, resolve.ErrInlineTable) {
			return nil, err // for the caller to read with a TOML decoder
		}
		if err != nil {
			// A bad line in a file is not a bad command line: drop the
			// chain so that it does not become a usage error.
			return nil, errors.New(err.Error())
		}
		if prev, dup := seen[b.Name]; dup {
			return nil, fmt.Errorf("%s: %s is already set on line %d", origin, b.Name, prev)
		}
		seen[b.Name] = n
		out = append(out, b)
	}
	return out, nil
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading env file: %w", err)
	}
	defer f.Close()
	data, err := readlimit.ReadAll(f, MaxEnvFileSize, 0)
	if errors.Is(err, readlimit.ErrTooLarge) {
		return nil, fmt.Errorf("reading env file %q: more than %d bytes", path, MaxEnvFileSize)
	}
	if err != nil {
		return nil, fmt.Errorf("reading env file %q: %w", path, err)
	}
	if bytes.IndexByte(data, 0) >= 0 {
		return nil, fmt.Errorf("reading env file %q: it contains a NUL byte", path)
	}
	return data, nil
}
