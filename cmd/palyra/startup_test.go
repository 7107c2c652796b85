package main

import (
	"bufio"
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/internal/testutil"
)

// The start-up rule (docs/PERFORMANCE.md, "Start-up"): every palyra command
// runs the package initialisation of the whole binary, so nothing expensive
// happens there. Regexps, templates and detector tables are built on first
// use (sync.OnceValue), or replaced by plain byte checks.
//
// These tests guard the rule without timing anything:
// TestPackageInitIsCheap runs this test binary (which links every package of
// the palyra command) with GODEBUG=inittrace=1 and bounds what each of this
// module's packages allocates at init; TestBinaryInitBudget bounds the sum
// over every package the command links, the standard library's and other
// modules' included, so that a heavy dependency (an RPC client's
// registrations, say) cannot join the command's local paths unnoticed;
// TestNoCompileAtInit reads this module's source for regexps and templates
// compiled by a package-level variable or an init function.

const modulePath = "github.com/palyra/palyra-vault"

// Per package, at init. A package-level regexp.MustCompile of even a
// trivial pattern costs about 30 allocations and 2 KB; a few error values
// and small maps stay well under these.
const (
	maxInitAllocs = 20
	maxInitBytes  = 4096
)

// The budget of the whole command's package initialisation. It was about
// 680 allocations and 98 KB when set (270 and 29 KB of them the vault
// package's regexps, since made byte checks). Raise it only with a measurement of
// bench/startup.sh in docs/PERFORMANCE.md.
const (
	maxBinaryInitAllocs = 1000
	maxBinaryInitBytes  = 160 << 10
)

// ourInits returns the bytes and allocations at init of each of this
// module's packages that initialise anything.
func ourInits(t *testing.T) map[string][2]int {
	t.Helper()
	ours := map[string][2]int{}
	for pkg, ba := range allInits(t) {
		if pkg == modulePath || strings.HasPrefix(pkg, modulePath+"/") {
			ours[pkg] = ba
		}
	}
	return ours
}

// allInits runs this test binary, running no test, with
// GODEBUG=inittrace=1 and returns the bytes and allocations at init of each
// package that initialises anything.
func allInits(t *testing.T) map[string][2]int {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("running %s -test.run=^$: %v\n%s", exe, err, stderr.Bytes())
	}
	// Compiled here, not at package level: this package's own init is
	// measured too.
	initLine := regexp.MustCompile(`^init (\S+) @\S+ \S+ (\S+) ms clock, (\d+) bytes, (\d+) allocs$`)
	inits := map[string][2]int{}
	sc := bufio.NewScanner(&stderr)
	for sc.Scan() {
		m := initLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		b, _ := strconv.Atoi(m[3])
		a, _ := strconv.Atoi(m[4])
		inits[m[1]] = [2]int{b, a}
	}
	return inits
}

func TestPackageInitIsCheap(t *testing.T) {
	inits := ourInits(t)
	// The trace lists only packages whose init does something: these have
	// package-level error values built with fmt.Errorf, so the parse
	// works if they appear.
	for _, want := range []string{modulePath + "/vault", modulePath + "/internal/cli/cmdutil"} {
		if _, ok := inits[want]; !ok {
			t.Fatalf("GODEBUG=inittrace=1 output has no line for %s; has the format changed? got %v", want, inits)
		}
	}
	for pkg, ba := range inits {
		bytes, allocs := ba[0], ba[1]
		if bytes <= maxInitBytes && allocs <= maxInitAllocs {
			continue
		}
		t.Errorf("%s allocates %d bytes in %d allocations at init (at most %d bytes, %d allocations): build what it builds on first use (sync.OnceValue), see docs/PERFORMANCE.md, \"Start-up\"",
			pkg, bytes, allocs, maxInitBytes, maxInitAllocs)
	}
}

func TestBinaryInitBudget(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	linked := map[string]bool{}
	for _, p := range strings.Fields(string(out)) {
		linked[p] = true
	}
	if !linked[modulePath+"/vault"] || !linked["os"] {
		t.Fatalf("go list -deps . does not list the vault package and os: %q", out)
	}
	type cost struct {
		pkg           string
		bytes, allocs int
	}
	var costs []cost
	var totalBytes, totalAllocs int
	for pkg, ba := range allInits(t) {
		if !linked[pkg] {
			continue // linked by the tests only
		}
		costs = append(costs, cost{pkg, ba[0], ba[1]})
		totalBytes += ba[0]
		totalAllocs += ba[1]
	}
	t.Logf("package initialisation of the palyra command: %d bytes in %d allocations, %d packages", totalBytes, totalAllocs, len(costs))
	if totalBytes <= maxBinaryInitBytes && totalAllocs <= maxBinaryInitAllocs {
		return
	}
	slices.SortFunc(costs, func(a, b cost) int { return b.allocs - a.allocs })
	var top strings.Builder
	for _, c := range costs[:min(10, len(costs))] {
		fmt.Fprintf(&top, "\n  %s: %d bytes, %d allocs", c.pkg, c.bytes, c.allocs)
	}
	t.Errorf("the palyra command's package initialisation allocates %d bytes in %d allocations (budget %d bytes, %d allocations): every command pays it at start-up; keep heavy dependencies off the command's local paths, build tables on first use, and measure with bench/startup.sh (docs/PERFORMANCE.md, \"Start-up\"). Largest:%s",
		totalBytes, totalAllocs, maxBinaryInitBytes, maxBinaryInitAllocs, top.String())
}

// compileFuncs are the calls that compile something, by import path.
var compileFuncs = map[string]map[string]bool{
	"regexp":        {"MustCompile": true, "Compile": true, "MustCompilePOSIX": true, "CompilePOSIX": true},
	"text/template": {"Must": true, "New": true, "ParseFiles": true, "ParseGlob": true, "ParseFS": true},
	"html/template": {"Must": true, "New": true, "ParseFiles": true, "ParseGlob": true, "ParseFS": true},
}

func TestNoCompileAtInit(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 50 {
		t.Fatalf("found only %d Go files under %s", len(files), root)
	}
	for _, path := range files {
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		for _, found := range compilesAtInit(t, path) {
			t.Errorf("%s: %s is compiled at package init; compile it on first use (sync.OnceValue) or check bytes by hand: every palyra command pays for it (docs/PERFORMANCE.md, \"Start-up\")", rel, found)
		}
	}
}

// compilesAtInit returns the names of package-level variables (or "init")
// of the file whose initialisation calls one of compileFuncs, outside any
// function literal (a sync.OnceValue's function runs on first use).
func compilesAtInit(t *testing.T, path string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{} // local name -> import path
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		if compileFuncs[p] == nil {
			continue
		}
		name := p[strings.LastIndex(p, "/")+1:]
		if imp.Name != nil {
			name = imp.Name.Name
		}
		names[name] = p
	}
	if len(names) == 0 {
		return nil
	}
	compiles := func(n ast.Node) bool {
		found := false
		ast.Inspect(n, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.FuncLit:
				return false
			case *ast.SelectorExpr:
				if id, ok := n.X.(*ast.Ident); ok && compileFuncs[names[id.Name]][n.Sel.Name] {
					found = true
				}
			}
			return !found
		})
		return found
	}
	var out []string
	for _, decl := range f.Decls {
		switch d := decl.(type) {
		case *ast.GenDecl:
			if d.Tok != token.VAR {
				continue
			}
			for _, spec := range d.Specs {
				vs := spec.(*ast.ValueSpec)
				for _, v := range vs.Values {
					if compiles(v) {
						for _, n := range vs.Names {
							out = append(out, n.Name)
						}
						break
					}
				}
			}
		case *ast.FuncDecl:
			if d.Recv == nil && d.Name.Name == "init" && d.Body != nil && compiles(d.Body) {
				out = append(out, "init")
			}
		}
	}
	return out
}

// TestPalyraLinksNeitherTheServerNorBackupCrypto keeps what only the
// delegated commands need (internal/cli/delegate: the daemon's HTTP
// server, age for backups, and every command line but the few that
// internal/cli/lean serves: cobra, pflag, text/template, the TOML decoder)
// out of the palyra command, whose every run
// would pay their initialisation: they belong to palyra-extra. It asks the
// go tool for the command's dependencies, so it fails as soon as an
// import drags one back in. The etcd client (go.etcd.io, gRPC) belongs
// there too: palyra hands an etcd vault's commands to palyra-extra.
func TestPalyraLinksNeitherTheServerNorBackupCrypto(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	forbidden := []string{
		"net/http",
		"crypto/tls",
		"crypto/x509",
		"filippo.io/age",
		modulePath + "/vault/backup", // age
		modulePath + "/daemon",       // the server; daemon/api is the light client
		modulePath + "/internal/cli/extra",
		modulePath + "/vault/backend/etcdstore", // the etcd client: etcd vaults run in palyra-extra
		// The command-line library and what it brings: palyra parses its
		// hot command lines by hand (internal/cli/lean) and hands the rest
		// to palyra-extra.
		"github.com/spf13/cobra",
		"github.com/spf13/pflag",
		"text/template",
		modulePath + "/internal/cli",
		modulePath + "/internal/cli/cmdutil",
	}
	// Whole module trees: the etcd client (about 20 ms of package
	// initialisation) and the gRPC it brings.
	// palyra.toml's decoder too: no hot verb reads the file.
	forbiddenTrees := []string{"go.etcd.io/", "google.golang.org/grpc", "google.golang.org/protobuf", "go.uber.org/zap", "github.com/pelletier/go-toml"}
	for dep := range strings.Lines(string(out)) {
		dep = strings.TrimSpace(dep)
		if slices.Contains(forbidden, dep) || slices.ContainsFunc(forbiddenTrees, func(p string) bool { return strings.HasPrefix(dep, p) }) {
			t.Errorf("palyra links %s; it belongs to palyra-extra (internal/cli/delegate)", dep)
		}
	}
}

// TestPalyraWithoutPalyraExtra runs a palyra installed alone: its own
// commands work, and a delegated one fails with exit status 1 and an error
// that names palyra-extra, where it was looked for and how to install it,
// without starting anything else.
func TestPalyraWithoutPalyraExtra(t *testing.T) {
	dir := t.TempDir()
	name := "palyra" // testscript.Main runs the test binary as palyra by its name
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	palyra := testutil.CopyTestBinary(t, dir, name)
	run := func(args ...string) (string, int) {
		cmd := exec.Command(palyra, args...)
		cmd.Env = append(os.Environ(), "PALYRA_STATE_ROOT="+filepath.Join(dir, "state"), "PALYRA_VAULT_BACKEND=encrypted_file")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return stderr.String(), code
	}
	if stderr, code := run("--version"); code != 0 {
		t.Fatalf("palyra --version: exit %d\n%s", code, stderr)
	}
	for _, args := range [][]string{
		{"secrets", "export", "-o", filepath.Join(dir, "backup.age")},
		{"secrets", "import", filepath.Join(dir, "backup.age")},
		{"daemon", "--config", filepath.Join(dir, "palyra.toml")},
	} {
		stderr, code := run(args...)
		if code != 1 || !strings.Contains(stderr, "palyra-extra is not installed beside palyra") ||
			!strings.Contains(stderr, filepath.Join(dir, "palyra-extra")) || !strings.Contains(stderr, "hint: install both programs") {
			t.Errorf("palyra %s without palyra-extra: exit %d\n%s", strings.Join(args, " "), code, stderr)
		}
		if strings.Contains(stderr, dir+string(filepath.Separator)+"backup.age") {
			t.Errorf("the error repeats an argument:\n%s", stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "backup.age")); err == nil {
		t.Error("a failed export wrote its output file")
	}
}
