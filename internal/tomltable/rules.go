package tomltable

import (
	"path/filepath"
	"strings"
)

// Limits of the values that name things outside the document.
const (
	// MaxPathLen bounds a path, in bytes.
	MaxPathLen = 4096
	// MaxNameLen bounds an environment variable name, in bytes.
	MaxNameLen = 256
)

// The rules below are package-level data that the compiler lays out in
// the binary: no code runs for them at package initialisation (a call such
// as strconv.Itoa or append would, in every palyra process;
// docs/PERFORMANCE.md, "Start-up"), so the limits are spelt out in their
// texts, which a test checks against the constants.

// pathRules are PathRules; AbsPathRules are its first four.
var pathRules = [...]Rule[string]{
	{OK: func(p string) bool { return p != "" }, Text: "must not be empty"},
	{OK: func(p string) bool { return len(p) <= MaxPathLen }, Text: "longer than 4096 bytes"},
	{OK: func(p string) bool { return !strings.ContainsRune(p, 0) }, Text: "contains a NUL byte"},
	{OK: func(p string) bool { return IsHomePath(p) || filepath.IsAbs(p) }, Text: "must be an absolute path (or start with ~/)"},
	{OK: func(p string) bool { return !HasDotDot(p) }, Text: `must not contain a ".." element`},
}

// AbsPathRules are the rules of a path in palyra.toml, except the one about
// ".." elements: not empty, at most MaxPathLen bytes, no NUL byte, and
// absolute or starting with "~/" (also `~\` on Windows).
var AbsPathRules = Rules[string](pathRules[:4:4])

// PathRules are the rules of a path in palyra.toml (a file, a trusted
// directory, a working directory): AbsPathRules, then no ".." element.
var PathRules = Rules[string](pathRules[:])

// EnvNameRules are the rules of an environment variable name: not empty,
// at most MaxNameLen bytes, and portable ([A-Za-z_][A-Za-z0-9_]*).
var EnvNameRules = Rules[string]{
	{OK: func(n string) bool { return n != "" }, Text: "must not be empty"},
	{OK: func(n string) bool { return len(n) <= MaxNameLen }, Text: "longer than 256 bytes"},
	{OK: portableName, Text: "must be a variable name matching [A-Za-z_][A-Za-z0-9_]*"},
}

func portableName(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9'
		if !ok {
			return false
		}
	}
	return true
}

// IsHomePath reports whether p starts with "~/" (or `~\` on Windows): a
// path below the user's home directory.
func IsHomePath(p string) bool {
	return strings.HasPrefix(p, "~/") || filepath.Separator == '\\' && strings.HasPrefix(p, `~\`)
}

// HasDotDot reports whether any element of p, split on '/' (and '\' on
// Windows), is "..".
func HasDotDot(p string) bool {
	for _, el := range strings.FieldsFunc(p, func(r rune) bool { return r == '/' || r == filepath.Separator }) {
		if el == ".." {
			return true
		}
	}
	return false
}
