package present

import "strings"

// ShellQuote returns s ready to paste into a POSIX shell command: as it is
// when it holds only characters no shell treats specially, else in single
// quotes. Suggested commands in hints and findings use it for paths and
// setting names.
func ShellQuote(s string) string {
	safe := s != ""
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("_-./:@,+=", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
