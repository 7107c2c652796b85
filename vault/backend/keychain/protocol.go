package keychain

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/palyra/palyra-vault/vault/backend"
)

// maxLineLen is the longest command line, without its newline, that
// `security -i` reads whole: its line buffer holds 4096 bytes with the
// terminating NUL, and a line of exactly 4095 bytes would leave the newline
// to be read as a second, empty command whose status replaces the first's.
const maxLineLen = 4094

// valuePrefix starts every password this package writes; the base64 of the
// blob follows.
const valuePrefix = "pv1:"

// Exit statuses of security: the low byte of the OSStatus of the failed call.
const (
	exitItemNotFound          = 44  // errSecItemNotFound, -25300
	exitDuplicateItem         = 45  // errSecDuplicateItem, -25299
	exitInteractionNotAllowed = 36  // errSecInteractionNotAllowed, -25308
	exitNoDefaultKeychain     = 37  // errSecNoDefaultKeychain, -25307
	exitNoSuchKeychain        = 50  // errSecNoSuchKeychain, -25294
	exitAuthFailed            = 51  // errSecAuthFailed, -25293
	exitUserCanceled          = 128 // userCanceledErr / errSecUserCanceled, -128
	exitInteractionRequired   = 29  // errSecInteractionRequired, -25315
	exitReadOnly              = 47  // errSecReadOnly, -25297
	exitNotAvailable          = 53  // errSecNotAvailable, -25291
)

// unavailableStatuses are the exit statuses that mean the keychain cannot
// be used right now (locked without a way to prompt, missing, dialog
// cancelled), with a phrase for each.
var unavailableStatuses = map[int]string{
	exitInteractionNotAllowed: "the keychain is locked and no unlock dialog can be shown (user interaction is not allowed)",
	exitNoDefaultKeychain:     "there is no default keychain",
	exitNoSuchKeychain:        "the keychain does not exist",
	exitAuthFailed:            "the keychain refused the credentials",
	exitUserCanceled:          "the keychain dialog was cancelled",
	exitInteractionRequired:   "the keychain needs user interaction",
	exitReadOnly:              "the keychain is read-only",
	exitNotAvailable:          "no keychain is available",
}

// errNoNewlineOrNUL explains why some bytes cannot be passed.
var errNoNewlineOrNUL = errors.New("security -i cannot carry a newline or NUL byte in an argument")

// quoteArg quotes s as one argument of a `security -i` command line.
//
// security splits an interactive line in one pass (split_line in
// SecurityTool's security.c): outside quotes, whitespace separates
// arguments and a backslash escapes the next byte; an argument that starts
// with '"' or '\” runs to the next unescaped copy of that quote, and inside
// it a backslash escapes the next byte, whatever it is. So wrapping s in
// double quotes and escaping '"' and '\' carries every byte except two: the
// line ends at a newline (readline) and the C string at a NUL. For those
// quoteArg returns an error wrapping errNoNewlineOrNUL.
func quoteArg(s string) (string, error) {
	if strings.ContainsAny(s, "\n\x00") {
		return "", errNoNewlineOrNUL
	}
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String(), nil
}

// interactiveLine joins args into one `security -i` command line ending in
// a newline. It fails with an error wrapping backend.ErrTooLarge when the
// line would be longer than security reads whole. Errors never contain the
// arguments, since one of them may be a secret.
func interactiveLine(args ...string) (string, error) {
	var b strings.Builder
	for i, a := range args {
		q, err := quoteArg(a)
		if err != nil {
			return "", fmt.Errorf("argument %d: %w", i, err)
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(q)
	}
	if b.Len() > maxLineLen {
		return "", fmt.Errorf("security command line would be %d bytes, more than the %d that security -i reads: %w", b.Len(), maxLineLen, backend.ErrTooLarge)
	}
	b.WriteByte('\n')
	return b.String(), nil
}

// withKeychain appends the keychain argument when one is set.
func withKeychain(args []string, keychain string) []string {
	if keychain != "" {
		args = append(args, keychain)
	}
	return args
}

// addLine is the stdin of `security -i` that stores value as the password
// of the item (service, account), creating or updating it.
func addLine(service, account, value, keychain string) (string, error) {
	return interactiveLine(withKeychain([]string{
		"add-generic-password", "-U", "-s", service, "-a", account, "-w", value,
	}, keychain)...)
}

// findArgs is the argv (after the executable) that prints the password of
// the item (service, account) followed by a newline.
func findArgs(service, account, keychain string) []string {
	return withKeychain([]string{"find-generic-password", "-s", service, "-a", account, "-w"}, keychain)
}

// deleteArgs is the argv that deletes the item (service, account).
func deleteArgs(service, account, keychain string) []string {
	return withKeychain([]string{"delete-generic-password", "-s", service, "-a", account}, keychain)
}

// dumpArgs is the argv that prints the attributes of every item.
func dumpArgs(keychain string) []string {
	return withKeychain([]string{"dump-keychain"}, keychain)
}

// encodeValue is the password text stored for blob.
func encodeValue(blob []byte) string {
	return valuePrefix + base64.StdEncoding.EncodeToString(blob)
}

// decodeValue turns the output of `find-generic-password -w` back into the
// blob. It never puts the output in its error.
func decodeValue(out []byte) ([]byte, error) {
	line, ok := bytes.CutSuffix(out, []byte("\n"))
	if !ok {
		return nil, errors.New("security printed the password without its final newline")
	}
	enc, ok := bytes.CutPrefix(line, []byte(valuePrefix))
	if !ok {
		return nil, fmt.Errorf("keychain item was not written by palyra-vault (password does not start with %q)", valuePrefix)
	}
	blob := make([]byte, base64.StdEncoding.DecodedLen(len(enc)))
	n, err := base64.StdEncoding.Strict().Decode(blob, enc)
	if err != nil {
		return nil, errors.New("keychain item holds malformed base64 after its prefix")
	}
	return blob[:n], nil
}

// parseDump returns the accounts of the generic password items of service
// in the output of `security dump-keychain`, keeping only valid object IDs,
// each once. Items look like
//
//	keychain: "/Users/u/Library/Keychains/login.keychain-db"
//	version: 512
//	class: "genp"
//	attributes:
//	    "acct"<blob>="obj_…"
//	    "svce"<blob>="dev.palyra.vault"
//
// A value with a non-printable byte is printed as 0x… hex and a missing one
// as <NULL>; neither can be ours, so only the plain quoted form is read.
// It fails only on a line longer than 1 MiB.
func parseDump(out []byte, service string) ([]backend.ObjectID, error) {
	var (
		ids               []backend.ObjectID
		seen              = map[backend.ObjectID]bool{}
		class, svce, acct string
		inItem            bool
	)
	flush := func() {
		id := backend.ObjectID(acct)
		if inItem && class == "genp" && svce == service && id.Valid() && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
		class, svce, acct = "", "", ""
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "keychain: ") {
			flush()
			inItem = true
			continue
		}
		t := strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(t, "class: "); ok {
			class = plainQuoted(v)
		} else if v, ok := strings.CutPrefix(t, `"svce"<blob>=`); ok {
			svce = plainQuoted(v)
		} else if v, ok := strings.CutPrefix(t, `"acct"<blob>=`); ok {
			acct = plainQuoted(v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading security dump-keychain output: %w", err)
	}
	flush()
	return ids, nil
}

// plainQuoted returns the text between the quotes of `"text"`, or "" when v
// is not of that form or holds a quote or backslash inside.
func plainQuoted(v string) string {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return ""
	}
	inner := v[1 : len(v)-1]
	if strings.ContainsAny(inner, `"\`) {
		return ""
	}
	return inner
}
