// Package fakesecurity is a fake of macOS's security(1) for tests, which
// runs anywhere: it is not the real tool, and passing against it proves
// only what the fake models. A test binary becomes fake-security when it
// is started under that name (a symlink New makes; TestMain calls
// RunIfFake). It implements what this module's Keychain code and the Rust
// Palyra's use: interactive mode (-i) with the same line reading and
// splitting as SecurityTool's readline.c and security.c,
// add-generic-password (its password from -w, or, when -w is the last
// argument as the crate passes it, from a line of stdin as the tool's
// prompt reads it without a terminal), find-generic-password,
// delete-generic-password and dump-keychain, with the same exit statuses
// and messages. Items live in files under the fake's directory, so
// several fake processes can run at once. Every invocation appends its
// argv and stdin to a log the tests read.
//
// Nothing outside tests imports it.
package fakesecurity

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"
)

// Name is the fake's executable name: a test binary started under it runs
// Main (see RunIfFake).
const Name = "fake-security"

// KeychainPath is the only keychain the fake knows; "" also means it.
const KeychainPath = "/Users/fake/Library/Keychains/login.keychain-db"

// RunIfFake makes the running test binary act as fake-security when it
// was started under that name (the symlink New makes), exiting with its
// status; otherwise it returns. Call it first in TestMain.
func RunIfFake() {
	if filepath.Base(os.Args[0]) == Name {
		os.Exit(Main(filepath.Dir(os.Args[0]), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
}

// Fake is one fake installation: the executable (a symlink to the test
// binary named fake-security), its item store and its log.
type Fake struct {
	// Dir holds the items, the mode file and the log.
	Dir string
	// Path is the executable to run in place of /usr/bin/security.
	Path string
}

// Call is one logged invocation.
type Call struct {
	Argv  []string `json:"argv"`
	Stdin []byte   `json:"stdin"`
	// Env is the names of the fake's environment variables.
	Env []string `json:"env"`
}

// New makes a fake installation in a fresh temporary directory. The test
// binary's TestMain must call RunIfFake. It skips the test on Windows,
// which cannot start a symlink under another name.
func New(t testing.TB) *Fake {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("fake-security is started through a symlink named fake-security, which Windows cannot execute")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, Name)
	if err := os.Symlink(exe, path); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "items"), 0o700); err != nil {
		t.Fatal(err)
	}
	return &Fake{Dir: dir, Path: path}
}

// SetMode makes every later keychain command of the fake fail the way a
// locked keychain does ("locked"), hang until killed ("hang"), or makes
// add-generic-password fail with a message quoting the password ("leaky");
// "" is normal.
func (f *Fake) SetMode(t testing.TB, mode string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(f.Dir, "mode"), []byte(mode), 0o600); err != nil {
		t.Fatal(err)
	}
}

// Calls returns every invocation logged so far.
func (f *Fake) Calls(t testing.TB) []Call {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(f.Dir, "log"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var calls []Call
	for line := range strings.Lines(string(data)) {
		var c Call
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			t.Fatalf("fake-security log line %q: %v", line, err)
		}
		calls = append(calls, c)
	}
	return calls
}

// PutRaw stores an item directly, as another program would have.
func (f *Fake) PutRaw(t testing.TB, service, account string, password []byte) {
	t.Helper()
	if err := os.WriteFile(itemPath(f.Dir, service, account), password, 0o600); err != nil {
		t.Fatal(err)
	}
}

// DeleteRaw removes an item directly, as another program would have.
func (f *Fake) DeleteRaw(t testing.TB, service, account string) {
	t.Helper()
	if err := os.Remove(itemPath(f.Dir, service, account)); err != nil {
		t.Fatal(err)
	}
}

// Items returns every item's service, account and password, sorted, so
// that a test can prove a reader changed none.
func (f *Fake) Items(t testing.TB) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(f.Dir, "items"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			continue
		}
		pw, err := os.ReadFile(filepath.Join(f.Dir, "items", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		svcHex, acctHex, _ := strings.Cut(e.Name(), ".")
		svc, _ := hex.DecodeString(svcHex)
		acct, _ := hex.DecodeString(acctHex)
		out = append(out, fmt.Sprintf("%q %q %q", svc, acct, pw))
	}
	sort.Strings(out)
	return out
}

// itemPath is the file holding the password of (service, account).
func itemPath(dir, service, account string) string {
	return filepath.Join(dir, "items", hex.EncodeToString([]byte(service))+"."+hex.EncodeToString([]byte(account)))
}

// Statuses and messages of the real tool.
const (
	statusNotFound       = -25300
	statusDuplicate      = -25299
	statusNoInteraction  = -25308
	statusNoSuchKeychain = -25294
	msgNotFound          = "The specified item could not be found in the keychain."
	msgDuplicate         = "The specified item already exists in the keychain."
	msgNoInteraction     = "User interaction is not allowed."
	msgNoSuchKeychain    = "The specified keychain could not be found."
)

// Main is main() of fake-security: dir is the fake's directory (its
// items, mode file and log); it returns the exit status.
func Main(dir string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	in, _ := io.ReadAll(stdin) // the real tool reads lazily; reading all first changes nothing here
	logCall(dir, args, in)
	mode, _ := os.ReadFile(filepath.Join(dir, "mode"))
	if string(mode) == "hang" {
		time.Sleep(time.Hour) // until the backend's timeout kills it
	}
	fs := &fakeState{dir: dir, mode: string(mode), stdout: stdout, stderr: stderr, stdin: in}
	if len(args) == 1 && args[0] == "-i" {
		fs.interactiveMode = true
		return fs.interactive(in)
	}
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: security [-i] command [opt ...]")
		return 2
	}
	return exitStatus(fs.execute(args))
}

// exitStatus is what exit(status) leaves: its low byte.
func exitStatus(status int) int { return status & 0xff }

func logCall(dir string, args []string, stdin []byte) {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		env = append(env, name)
	}
	line, _ := json.Marshal(Call{Argv: append([]string{Name}, args...), Stdin: stdin, Env: env})
	f, err := os.OpenFile(filepath.Join(dir, "log"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		panic(err)
	}
	defer f.Close()
	if _, err := f.Write(append(line, '\n')); err != nil {
		panic(err)
	}
}

type fakeState struct {
	dir            string
	mode           string // "", "locked" or "leaky"
	stdout, stderr io.Writer
	// stdin is everything the process was given on stdin;
	// interactiveMode is set under -i, where stdin holds commands.
	stdin           []byte
	interactiveMode bool
}

// interactive runs the lines of in as security -i does: readline() reads
// at most 4095 bytes per line (a longer line is split there), drops the
// newline, and returns NULL at EOF even after a partial line, which is
// then never run. A NUL ends the C string. The last command's status is
// the exit status.
func (fs *fakeState) interactive(in []byte) int {
	const bufSize = 4096
	result := 0
	r := bufio.NewReader(strings.NewReader(string(in)))
	for {
		var line []byte
		eof := false
		for len(line) < bufSize-1 {
			c, err := r.ReadByte()
			if err != nil {
				eof = true
				break
			}
			if c == '\n' {
				break
			}
			line = append(line, c)
		}
		if eof {
			break
		}
		if i := strings.IndexByte(string(line), 0); i >= 0 {
			line = line[:i]
		}
		argv := SplitLine(string(line))
		result = fs.execute(argv)
		if result != 0 && len(argv) > 0 {
			fmt.Fprintf(fs.stderr, "%s: returned %d\n", argv[0], result)
		}
	}
	return exitStatus(result)
}

// SplitLine splits an interactive line exactly as split_line in
// SecurityTool's security.c: whitespace (C isspace) separates arguments;
// outside quotes a backslash escapes the next byte; an argument starting
// with ' or " runs to the next unescaped same quote, with backslash
// escaping inside; at most 32 arguments.
func SplitLine(line string) []string {
	const maxArgs = 32
	const (
		skipWS = iota
		readArg
		readArgEscaped
		quotedArg
		quotedArgEscaped
	)
	isSpace := func(c byte) bool { return c == ' ' || (c >= '\t' && c <= '\r') }
	var (
		args    []string
		cur     []byte
		state   = skipWS
		quoteCh byte
	)
	for i := 0; i < len(line); i++ {
		c := line[i]
		if state == skipWS {
			if isSpace(c) {
				continue
			}
			cur = cur[:0]
			if c == '"' || c == '\'' {
				quoteCh = c
				state = quotedArg
				continue
			}
			state = readArg
		}
		if state == readArg {
			if c == '\\' {
				state = readArgEscaped
				continue
			} else if isSpace(c) {
				args = append(args, string(cur))
				state = skipWS
				if len(args) >= maxArgs {
					break
				}
			} else {
				cur = append(cur, c)
			}
		}
		if state == quotedArg {
			if c == '\\' {
				state = quotedArgEscaped
				continue
			}
			if c == quoteCh {
				args = append(args, string(cur))
				state = skipWS
				if len(args) >= maxArgs {
					break
				}
			} else {
				cur = append(cur, c)
			}
		}
		if state == readArgEscaped {
			cur = append(cur, c)
			state = readArg
		}
		if state == quotedArgEscaped {
			cur = append(cur, c)
			state = quotedArg
		}
	}
	if state != skipWS {
		args = append(args, string(cur))
	}
	return args
}

// getopt parses args (args[0] is the command) with a BSD getopt optstring
// and returns the options and the operands. A bad option returns ok=false.
func getopt(args []string, optstring string) (opts map[byte]string, flags map[byte]bool, rest []string, ok bool) {
	opts, flags = map[byte]string{}, map[byte]bool{}
	i := 1
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if len(a) < 2 || a[0] != '-' {
			break
		}
		for j := 1; j < len(a); j++ {
			k := strings.IndexByte(optstring, a[j])
			if k < 0 || a[j] == ':' {
				return nil, nil, nil, false
			}
			if k+1 < len(optstring) && optstring[k+1] == ':' {
				if j+1 < len(a) {
					opts[a[j]] = a[j+1:]
				} else if i+1 < len(args) {
					i++
					opts[a[j]] = args[i]
				} else {
					return nil, nil, nil, false
				}
				break
			}
			flags[a[j]] = true
		}
	}
	return opts, flags, args[i:], true
}

// perror prints an error the way sec_perror does.
func (fs *fakeState) perror(call, msg string) {
	fmt.Fprintf(fs.stderr, "security: %s: %s\n", call, msg)
}

// checkKeychains fails unless every operand names the fake's keychain.
func (fs *fakeState) checkKeychains(operands []string) int {
	for _, k := range operands {
		if k != KeychainPath && k != "login.keychain" {
			fs.perror("SecKeychainOpen "+k, msgNoSuchKeychain)
			return statusNoSuchKeychain
		}
	}
	if fs.mode == "locked" {
		fs.perror("SecKeychainItemCopyContent", msgNoInteraction)
		return statusNoInteraction
	}
	return 0
}

// execute runs one command and returns its status (an OSStatus, 2 for usage).
func (fs *fakeState) execute(argv []string) int {
	if len(argv) == 0 {
		return 0
	}
	switch argv[0] {
	case "add-generic-password":
		return fs.add(argv)
	case "find-generic-password":
		return fs.find(argv)
	case "delete-generic-password":
		return fs.delete(argv)
	case "dump-keychain":
		return fs.dump(argv)
	default:
		fmt.Fprintf(fs.stderr, "security: unknown command %q\n", argv[0])
		return 1
	}
}

func (fs *fakeState) add(argv []string) int {
	// "-w" as the last argument: the tool prompts for the password, which
	// without a terminal is read from stdin up to a newline (how the Rust
	// Palyra's keychain_add_args passes the payload). Only a command line
	// has a stdin of its own; in -i mode stdin holds the commands.
	prompted := !fs.interactiveMode && len(argv) > 1 && argv[len(argv)-1] == "-w"
	if prompted {
		argv = argv[:len(argv)-1]
	}
	opts, flags, rest, ok := getopt(argv, "a:c:C:D:G:j:l:s:p:w:X:UAT:")
	if !ok || opts['a'] == "" || opts['s'] == "" {
		return 2
	}
	if st := fs.checkKeychains(rest); st != 0 {
		return st
	}
	path := itemPath(fs.dir, opts['s'], opts['a'])
	if _, err := os.Stat(path); err == nil && !flags['U'] {
		fs.perror("SecKeychainItemCreateFromContent (<default>)", msgDuplicate)
		return statusDuplicate
	}
	password := opts['w']
	if p, ok := opts['p']; ok {
		password = p
	}
	if prompted {
		password, _, _ = strings.Cut(string(fs.stdin), "\n")
	}
	if fs.mode == "leaky" {
		// A failure whose message quotes the password: the backend must
		// not pass it on.
		fs.perror("SecKeychainItemCreateFromContent "+password, msgDuplicate)
		return statusDuplicate
	}
	// Concurrent fake processes may write the same item: each uses its
	// own temporary file and the last rename wins, as in a keychain.
	tmp, err := os.CreateTemp(filepath.Dir(path), "write-*.tmp")
	if err != nil {
		panic(err)
	}
	if _, err := tmp.WriteString(password); err != nil {
		panic(err)
	}
	if err := tmp.Close(); err != nil {
		panic(err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		panic(err)
	}
	return 0
}

func (fs *fakeState) find(argv []string) int {
	opts, flags, rest, ok := getopt(argv, "a:c:C:D:G:j:l:s:gw")
	if !ok {
		return 2
	}
	if st := fs.checkKeychains(rest); st != 0 {
		return st
	}
	password, err := os.ReadFile(itemPath(fs.dir, opts['s'], opts['a']))
	if err != nil {
		fs.perror("SecKeychainSearchCopyNext", msgNotFound)
		return statusNotFound
	}
	if flags['w'] {
		// Like the real tool: printable passwords as they are, others as hex.
		printable := true
		for _, c := range password {
			if c < 0x20 || c > 0x7e {
				printable = false
			}
		}
		if printable {
			fmt.Fprintf(fs.stdout, "%s\n", password)
		} else {
			fmt.Fprintf(fs.stdout, "%x\n", password)
		}
		return 0
	}
	fs.printItem(opts['s'], opts['a'])
	return 0
}

func (fs *fakeState) delete(argv []string) int {
	opts, _, rest, ok := getopt(argv, "a:c:C:D:G:j:l:s:")
	if !ok {
		return 2
	}
	if st := fs.checkKeychains(rest); st != 0 {
		return st
	}
	path := itemPath(fs.dir, opts['s'], opts['a'])
	if _, err := os.Stat(path); err != nil {
		fs.perror("SecKeychainSearchCopyNext", msgNotFound)
		return statusNotFound
	}
	fs.printItem(opts['s'], opts['a'])
	if err := os.Remove(path); err != nil {
		fs.perror("SecKeychainItemDelete", msgNotFound)
		return statusNotFound
	}
	fmt.Fprintln(fs.stdout, "password has been deleted.")
	return 0
}

func (fs *fakeState) dump(argv []string) int {
	_, _, rest, ok := getopt(argv, "adir")
	if !ok {
		return 2
	}
	if st := fs.checkKeychains(rest); st != 0 {
		return st
	}
	entries, err := os.ReadDir(filepath.Join(fs.dir, "items"))
	if err != nil {
		panic(err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".tmp") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, n := range names {
		svcHex, acctHex, _ := strings.Cut(n, ".")
		svc, _ := hex.DecodeString(svcHex)
		acct, _ := hex.DecodeString(acctHex)
		fs.printItem(string(svc), string(acct))
	}
	return 0
}

// printItem prints an item's attributes in dump-keychain's format.
func (fs *fakeState) printItem(service, account string) {
	w := fs.stdout
	fmt.Fprintf(w, "keychain: %q\n", KeychainPath)
	fmt.Fprintln(w, "version: 512")
	fmt.Fprintln(w, `class: "genp"`)
	fmt.Fprintln(w, "attributes:")
	fmt.Fprintf(w, "    0x00000007 <blob>=%s\n", dumpValue(service))
	fmt.Fprintln(w, "    0x00000008 <blob>=<NULL>")
	fmt.Fprintf(w, "    \"acct\"<blob>=%s\n", dumpValue(account))
	fmt.Fprintln(w, `    "cdat"<timedate>=0x32303236303130313132303030305A00  "20260101120000Z\000"`)
	fmt.Fprintln(w, `    "crtr"<uint32>=<NULL>`)
	fmt.Fprintln(w, `    "desc"<blob>=<NULL>`)
	fmt.Fprintln(w, `    "gena"<blob>=<NULL>`)
	fmt.Fprintln(w, `    "icmt"<blob>=<NULL>`)
	fmt.Fprintf(w, "    \"svce\"<blob>=%s\n", dumpValue(service))
	fmt.Fprintln(w, `    "type"<uint32>=<NULL>`)
}

// dumpValue prints a blob attribute like print_buffer: quoted when every
// byte is printable, else hex followed by a quoted escaped form.
func dumpValue(v string) string {
	if v == "" {
		return "<NULL>"
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e || v[i] == '"' || v[i] == '\\' {
			return fmt.Sprintf("0x%X  %q", v, v)
		}
	}
	return `"` + v + `"`
}
