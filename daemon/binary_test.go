//go:build linux

// The tests in this file build the real palyra binary and run "palyra
// daemon" as a separate process on a temporary state root, talking to it
// over its socket and signalling it as systemd would.
//
// The test that a caller of another uid is refused runs a client as nobody
// (uid 65534) and so needs root; it skips otherwise (and fails under
// CI=true). Its client is this test binary itself, copied somewhere nobody
// can execute it and started with PALYRA_DAEMON_TEST_HELPER set (see
// TestMain). The daemon's directory is 0700, which stops nobody at
// connect(2) before the daemon ever sees it; to exercise the daemon's own
// peer-credential check the test then sets socket_shared (socket 0666 in a
// 0711 directory) and opens the temporary state root above it to 0711, as an
// administrator would the parent of a shared socket.
package daemon_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/palyra/palyra-vault/daemon/internal/fixture"
	"github.com/palyra/palyra-vault/internal/testhook"
	"github.com/palyra/palyra-vault/internal/testutil"

	"github.com/palyra/palyra-vault/daemon"
	"github.com/palyra/palyra-vault/daemon/api"
	"github.com/palyra/palyra-vault/daemon/internal/audit"
	"github.com/palyra/palyra-vault/vault"
)

// helperEnv names the environment variable that turns this test binary
// into a one-shot client: it resolves the JSON request in argv[2] on the
// socket argv[1] and prints a helperResult.
const helperEnv = "PALYRA_DAEMON_TEST_HELPER"

type helperResult struct {
	Status int    `json:"status"`
	Code   string `json:"code,omitempty"`
	Msg    string `json:"msg,omitempty"`
	Value  string `json:"value,omitempty"`
}

var (
	binDir     string // 0755, holds palyra and a copy of this test binary
	palyraBin  string
	helperBin  string
	buildError error
)

func TestMain(m *testing.M) {
	testhook.MarkTestBinary() // the vault made below honours PALYRA_TEST_CHEAP_KDF
	if os.Getenv(helperEnv) != "" {
		os.Exit(helperMain())
	}
	if os.Getenv(floodEnv) != "" {
		os.Exit(floodMain())
	}
	code := func() int {
		dir, err := os.MkdirTemp("", "pdbin")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		binDir = dir
		os.Chmod(dir, 0o755)
		// palyra runs "palyra daemon" by handing it to palyra-extra, which
		// must be beside it (internal/cli/delegate): build both, as installed.
		palyraBin = filepath.Join(dir, "palyra")
		args := []string{"build", "-o", dir + string(filepath.Separator)}
		if raceEnabled {
			args = append(args, "-race")
		}
		out, err := exec.Command("go", append(args, "github.com/palyra/palyra-vault/cmd/palyra", "github.com/palyra/palyra-vault/cmd/palyra-extra")...).CombinedOutput()
		if err != nil {
			buildError = fmt.Errorf("building palyra and palyra-extra: %v\n%s", err, out)
		}
		helperBin = filepath.Join(dir, "client")
		if self, err := os.Executable(); err == nil {
			if data, err := os.ReadFile(self); err == nil {
				os.WriteFile(helperBin, data, 0o755)
			}
		}
		return m.Run()
	}()
	os.Exit(code)
}

var statSourcesOnce sync.Once

// statSources stats every Go source of the module and go.mod/go.sum. go
// test caches a result by the files the tests looked at (inside the
// module); the binary was built by a child it cannot see, so without this
// a result would be reused after the daemon's or the CLI's sources changed.
func statSources() {
	root := ".."
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && p != root {
			return filepath.SkipDir
		}
		if strings.HasSuffix(p, ".go") || d.Name() == "go.mod" || d.Name() == "go.sum" {
			os.Stat(p)
		}
		return nil
	})
}

func helperMain() int {
	c := api.NewClient(os.Args[1])
	var req api.ResolveRequest
	if err := json.Unmarshal([]byte(os.Args[2]), &req); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res := helperResult{Status: 200}
	resp, err := c.Resolve(ctx, req)
	var ae *api.Error
	switch {
	case errors.As(err, &ae):
		res = helperResult{Status: ae.Status, Code: ae.Code, Msg: ae.Message}
	case err != nil:
		res = helperResult{Status: 0, Msg: err.Error()}
	default:
		res.Value = string(resp.Value.Reveal())
	}
	json.NewEncoder(os.Stdout).Encode(res)
	return 0
}

// site is a fixture for tests of the real palyra binary.
type site struct {
	*fixture.Fixture
	extraEnv []string // added to (and overriding) env()
}

func newSite(t *testing.T, secrets map[string]string, config string) *site {
	t.Helper()
	if buildError != nil {
		t.Fatal(buildError)
	}
	statSourcesOnce.Do(statSources)
	return &site{Fixture: fixture.New(t, secrets, config)}
}

func (s *site) socket() string { return filepath.Join(s.Root, api.DirName, api.SocketName) }

func (s *site) env() []string {
	return append(append(os.Environ(),
		"PALYRA_STATE_ROOT="+s.Root,
		"PALYRA_VAULT_BACKEND=encrypted_file",
		"PALYRA_CONFIG=",
		"PALYRA_VAULT_DIR=",
		"PALYRA_VAULT_PASSPHRASE=",
		api.EnvSocket+"=",
		"GORACE=atexit_sleep_ms=0 halt_on_error=1",
	), s.extraEnv...)
}

// daemonProc is a running "palyra daemon".
type daemonProc struct {
	t      testing.TB
	cmd    *exec.Cmd
	stderr *fixture.Buffer
	done   chan struct{}
	err    error
	client *api.Client
}

// command returns "palyra daemon --config <config>" for the site.
func (s *site) command(args ...string) (*exec.Cmd, *fixture.Buffer) {
	cmd := exec.Command(palyraBin, append([]string{"daemon", "--config", s.Config, "--log-level", "debug"}, args...)...)
	cmd.Env = s.env()
	buf := &fixture.Buffer{}
	cmd.Stderr = buf
	cmd.Stdout = buf
	return cmd, buf
}

// start runs the daemon and waits until it answers on its socket.
func (s *site) start() *daemonProc {
	s.T.Helper()
	return s.startOn(s.socket())
}

// startOn is start with the daemon listening on socket (passed with
// --socket unless it is the default).
func (s *site) startOn(socket string) *daemonProc {
	s.T.Helper()
	var args []string
	if socket != s.socket() {
		args = []string{"--socket", socket}
	}
	cmd, buf := s.command(args...)
	if err := cmd.Start(); err != nil {
		s.T.Fatal(err)
	}
	p := &daemonProc{t: s.T, cmd: cmd, stderr: buf, done: make(chan struct{}), client: api.NewClient(socket)}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	s.T.Cleanup(func() {
		p.client.Close()
		select {
		case <-p.done:
		default:
			cmd.Process.Kill()
			<-p.done
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := p.client.Health(ctx)
		cancel()
		if err == nil {
			return p
		}
		select {
		case <-p.done:
			s.T.Fatalf("the daemon exited while starting: %v\n%s", p.err, buf)
		default:
		}
		if time.Now().After(deadline) {
			s.T.Fatalf("the daemon did not answer within a minute: %v\n%s", err, buf)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// signal sends sig and, for a stop signal, waits for the exit.
func (p *daemonProc) signal(sig syscall.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatal(err)
	}
}

func (p *daemonProc) wait() int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		p.t.Fatalf("the daemon did not exit within a minute\n%s", p.stderr)
	}
	return p.cmd.ProcessState.ExitCode()
}

func (p *daemonProc) resolve(req api.ResolveRequest) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := p.client.Resolve(ctx, req)
	if err != nil {
		return "", err
	}
	defer resp.Value.Wipe()
	return string(resp.Value.Reveal()), nil
}

func (p *daemonProc) mustResolve(req api.ResolveRequest) string {
	p.t.Helper()
	v, err := p.resolve(req)
	if err != nil {
		p.t.Fatalf("resolving %+v: %v\n%s", req, err, p.stderr)
	}
	return v
}

// reload sends SIGHUP and waits until the status shows one more reload
// attempt; it returns that attempt.
func (p *daemonProc) reload() api.Reload {
	p.t.Helper()
	before := p.status().LastReload
	var n uint64
	if before != nil {
		n = before.Attempts
	}
	p.signal(syscall.SIGHUP)
	deadline := time.Now().Add(60 * time.Second)
	for {
		if lr := p.status().LastReload; lr != nil && lr.Attempts > n {
			return *lr
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("no reload within a minute\n%s", p.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitForLog waits until the daemon's stderr holds want: the status can
// show a reload before its log line has been written, and the line crosses
// a pipe before the test's copier sees it.
func (p *daemonProc) waitForLog(want string) {
	p.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(p.stderr.String(), want) {
		if time.Now().After(deadline) {
			p.t.Fatalf("logs lack %q after 30 s:\n%s", want, p.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *daemonProc) status() api.Status {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := p.client.Status(ctx)
	if err != nil {
		p.t.Fatalf("status: %v\n%s", err, p.stderr)
	}
	return st
}

func TestDaemonBinaryStartFailsOnMissingRequiredReferences(t *testing.T) {
	s := newSite(t, fixture.Secrets(), `
[model_provider]
openai_api_key_vault_ref = "vault://global/openai_api_key"
anthropic_api_key_vault_ref = "global/absent"

[tool]
token = { env = "PALYRA_TEST_UNSET_VARIABLE" }
opt = { env = "PALYRA_TEST_UNSET_VARIABLE", required = false }
`)
	cmd, out := s.command()
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v, want status 1\n%s", err, out)
	}
	var errLines []string
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(l, "palyra: error: ") {
			errLines = append(errLines, strings.TrimPrefix(l, "palyra: error: "))
		}
	}
	want := []string{
		regexp.QuoteMeta("2 required references in " + s.Config + " did not resolve:"),
		`model_provider\.anthropic_api_key_vault_ref \(line 4\): vault#[0-9a-f]{8}: missing: the secret is not in the vault`,
		`tool\.token \(line 7\): env#[0-9a-f]{8}: missing: the environment variable is not set`,
	}
	if len(errLines) != len(want) {
		t.Fatalf("%d error lines, want %d:\n%s", len(errLines), len(want), out)
	}
	for i, w := range want {
		if !matches(w, errLines[i]) {
			t.Fatalf("error line %d = %q, want %q", i, errLines[i], w)
		}
	}
	if !strings.Contains(out.String(), `level=WARN msg="optional reference did not resolve"`) || !strings.Contains(out.String(), "path=tool.opt") {
		t.Fatalf("no warning for the optional reference:\n%s", out)
	}
	if strings.Contains(out.String(), "sk-test-123") {
		t.Fatal("a value reached stderr")
	}
	if _, err := os.Lstat(s.socket()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a socket was left behind: %v", err)
	}
}

func TestDaemonBinaryReloadsOnSIGHUP(t *testing.T) {
	tests := []struct {
		name     string
		config   string
		ok       bool
		logs     string
		rotating string
		extra    string // a path that must resolve after the reload, "" for none
	}{
		{name: "good config", config: fixture.Config + "\n[more]\nx_vault_ref = \"global/openai_api_key\"\n", ok: true,
			logs: `msg="configuration reloaded"`, rotating: "rot-2", extra: "more.x"},
		{name: "invalid TOML", config: "[model_provider\n", logs: `msg="reload refused; still serving the previous configuration"`, rotating: "rot-1"},
		{name: "failing required reference", config: fixture.Config + "\n[more]\nx_vault_ref = \"global/absent\"\n",
			logs: "more.x_vault_ref (line 11): vault#", rotating: "rot-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSite(t, fixture.Secrets(), fixture.Config)
			p := s.start()
			s.Put("vault://global/rotating", "rot-2")
			s.Put("vault://global/openai_api_key", "sk-test-changed")
			s.WriteConfig(tt.config)
			lr := p.reload()
			if lr.OK != tt.ok {
				t.Fatalf("reload ok = %v (%s), want %v", lr.OK, lr.Error, tt.ok)
			}
			p.waitForLog(tt.logs)
			if got := p.mustResolve(api.ResolveRequest{Path: "tool.reloaded"}); got != tt.rotating {
				t.Fatalf("on_reload value %q, want %q", got, tt.rotating)
			}
			if got := p.mustResolve(api.ResolveRequest{Path: "model_provider.openai_api_key"}); got != "sk-test-123" {
				t.Fatalf("on_startup value %q, want the one from start", got)
			}
			if tt.extra != "" {
				if got := p.mustResolve(api.ResolveRequest{Path: tt.extra}); got != "sk-test-changed" {
					t.Fatalf("new reference %q", got)
				}
			}
			wantGen := uint64(1)
			if tt.ok {
				wantGen = 2
			}
			if g := p.status().Generation; g != wantGen {
				t.Fatalf("generation %d, want %d", g, wantGen)
			}
			p.signal(syscall.SIGTERM)
			if code := p.wait(); code != 0 {
				t.Fatalf("exit status %d after SIGTERM\n%s", code, p.stderr)
			}
		})
	}
}

func TestDaemonBinaryPerUseValuesFollowTheVault(t *testing.T) {
	s := newSite(t, fixture.Secrets(), fixture.Config)
	p := s.start()
	for _, v := range []string{"xoxb-1", "xoxb-2", "xoxb-3"} {
		if v != "xoxb-1" {
			s.Put("vault://channel:slack/token", v)
		}
		if got := p.mustResolve(api.ResolveRequest{Path: "tool.per"}); got != v {
			t.Fatalf("per_use value %q, want %q", got, v)
		}
		if got := p.mustResolve(api.ResolveRequest{Ref: "vault://channel:slack/token"}); got != v {
			t.Fatalf("per_use value by ref %q, want %q", got, v)
		}
	}
}

func TestDaemonBinaryStopSignalFinishesInFlightWipesAndExitsZero(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			s := newSite(t, fixture.Secrets(), "")
			marker := filepath.Join(s.Root, "started")
			s.WriteConfig(fixture.Config + fmt.Sprintf(`
[slow]
value = { exec = ["/bin/sh", "-c", "/usr/bin/touch %s; /bin/sleep 1; printf slow-value"], refresh = "per_use" }
`, marker))
			p := s.start()
			os.Remove(marker) // made by the check at start
			type result struct {
				v   string
				err error
			}
			res := make(chan result, 1)
			go func() {
				v, err := p.resolve(api.ResolveRequest{Path: "slow.value"})
				res <- result{v, err}
			}()
			for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				if _, err := os.Stat(marker); err == nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the request never started\n%s", p.stderr)
				}
			}
			p.signal(sig) // while the request is in flight
			r := <-res
			if r.err != nil || r.v != "slow-value" {
				t.Fatalf("in-flight request: %q, %v\n%s", r.v, r.err, p.stderr)
			}
			if code := p.wait(); code != 0 {
				t.Fatalf("exit status %d\n%s", code, p.stderr)
			}
			logs := p.stderr.String()
			if !strings.Contains(logs, "msg=stopped") || !strings.Contains(logs, "wiped_values=2") {
				t.Fatalf("no wipe report in the logs:\n%s", logs)
			}
			if _, err := os.Lstat(s.socket()); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("socket left behind: %v", err)
			}
			if _, err := p.client.Health(context.Background()); !errors.Is(err, api.ErrNotRunning) {
				t.Fatalf("health after exit: %v, want ErrNotRunning", err)
			}
		})
	}
}

func TestDaemonBinaryStatusVerb(t *testing.T) {
	s := newSite(t, fixture.Secrets(), fixture.Config)
	run := func(args ...string) (string, int) {
		cmd := exec.Command(palyraBin, append([]string{"daemon", "status"}, args...)...)
		cmd.Env = s.env()
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return string(out), cmd.ProcessState.ExitCode()
	}
	out, code := run()
	if code != 1 || !strings.Contains(out, "palyra: error: the palyra daemon is not running") || !strings.Contains(out, "palyra: hint: start it with") {
		t.Fatalf("status without a daemon: %d\n%s", code, out)
	}
	p := s.start()
	out, code = run()
	if code != 0 {
		t.Fatalf("status: %d\n%s", code, out)
	}
	for _, w := range []string{"daemon:       running, pid ", "references:   4 (3 ok, 1 missing, 0 failed)",
		"model_provider.openai_api_key_vault_ref", "tool.optional", "missing", "per_use"} {
		if !strings.Contains(out, w) {
			t.Fatalf("status output lacks %q:\n%s", w, out)
		}
	}
	out, code = run("--json")
	var st api.Status
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || len(st.References) != 4 || st.PID != p.cmd.Process.Pid {
		t.Fatalf("status --json: %d\n%s", code, out)
	}
	for _, v := range fixture.Secrets() {
		if strings.Contains(out, v) {
			t.Fatalf("status shows the value %q", v)
		}
	}
}

// asNobody runs the helper client as uid/gid 65534 and returns its result.
func asNobody(t *testing.T, socket string, req api.ResolveRequest) helperResult {
	t.Helper()
	body, _ := json.Marshal(req)
	cmd := exec.Command(helperBin, socket, string(body))
	cmd.Env = []string{helperEnv + "=1", "HOME=/nonexistent", "GORACE=atexit_sleep_ms=0"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helper as nobody: %v\n%s", err, stderr.String())
	}
	var res helperResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("helper output %q: %v", out, err)
	}
	return res
}

func TestDaemonBinaryRefusesCallersOfAnotherUID(t *testing.T) {
	if os.Geteuid() != 0 {
		testutil.SkipOrFailInCI(t, "needs root: the test runs a client as nobody (uid 65534) with setuid")
	}
	s := newSite(t, fixture.Secrets(), fixture.Config)
	p := s.start()
	global := api.ResolveRequest{Path: "model_provider.openai_api_key"}

	// 1. The socket's directory (0700) stops nobody before the daemon sees it.
	if r := asNobody(t, s.socket(), global); r.Status != 0 || !strings.Contains(r.Msg, "permission denied") {
		t.Fatalf("nobody through a 0700 directory: %+v", r)
	}

	// 2. With socket_shared the daemon opens its socket (0666) and directory
	// (0711); the test opens the temporary state root above them (0711),
	// as an administrator would a socket's parent directory. Now the
	// daemon's own peer-credential check refuses nobody, and audits it.
	if err := os.Chmod(s.Root, 0o711); err != nil {
		t.Fatal(err)
	}
	s.WriteConfig(fixture.Config + "\n[daemon]\nsocket_shared = true\n")
	if lr := p.reload(); !lr.OK {
		t.Fatalf("reload: %s", lr.Error)
	}
	r := asNobody(t, s.socket(), global)
	if r.Status != 403 || r.Code != api.CodeForbidden || !strings.Contains(r.Msg, "uid 65534 may not call this daemon") || r.Value != "" {
		t.Fatalf("nobody with an open socket: %+v", r)
	}
	recs := readAudit(t, s)
	last := recs[len(recs)-1]
	if last.UID != 65534 || last.Decision != audit.Denied || last.Status != 403 || last.PID == 0 || last.Exe != helperBin {
		t.Fatalf("audit record for nobody: %+v", last)
	}

	// 3. Allowed by the configuration, nobody reads what the policy allows.
	s.WriteConfig(fixture.Config + `
[daemon]
socket_shared = true
allowed_uids = [65534]
[daemon.principals]
bob = [65534]
`)
	if lr := p.reload(); !lr.OK {
		t.Fatalf("reload: %s", lr.Error)
	}
	tests := []struct {
		name   string
		req    api.ResolveRequest
		status int
		value  string
	}{
		{"config reference", global, 200, "sk-test-123"},
		{"own principal scope", api.ResolveRequest{Ref: "vault://principal:bob/token"}, 200, "bob-1"},
		{"another principal's scope", api.ResolveRequest{Ref: "vault://principal:alice/token"}, 403, ""},
		{"env reference not in the config", api.ResolveRequest{Ref: "env:HOME"}, 403, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := asNobody(t, s.socket(), tt.req)
			if r.Status != tt.status || r.Value != tt.value {
				t.Fatalf("got %+v, want status %d value %q", r, tt.status, tt.value)
			}
		})
	}
	// The daemon's own uid has no principal: bob's scope is not its own.
	if _, err := p.resolve(api.ResolveRequest{Ref: "vault://principal:bob/token"}); err == nil || !strings.Contains(err.Error(), "mapped to no principal") {
		t.Fatalf("root reading bob's scope: %v", err)
	}
	recs = readAudit(t, s)
	var allowed, denied int
	for _, r := range recs {
		if r.UID != 65534 {
			continue
		}
		switch {
		case r.Decision == audit.Allowed && r.Principal == "bob":
			allowed++
		case r.Decision == audit.Denied:
			denied++
		}
	}
	if allowed != 2 || denied != 3 {
		t.Fatalf("audit for nobody: %d allowed, %d denied; want 2 and 3", allowed, denied)
	}
}

// readAudit returns the records of both audit files, in time order.
func readAudit(t *testing.T, s *site) []audit.Record {
	t.Helper()
	dir := filepath.Join(s.Root, api.DirName)
	return fixture.ReadAudit(t, filepath.Join(dir, daemon.AuditName), filepath.Join(dir, daemon.AuditDeniedName))
}

func TestDaemonBinaryKeepsValuesOutOfCoreDumps(t *testing.T) {
	s := newSite(t, fixture.Secrets(), fixture.Config)
	p := s.start()
	limits, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", p.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	if !matchesAnyLine(`Max core file size\s+0\s+0\s+bytes\s*`, string(limits)) {
		t.Fatalf("core dumps are not off:\n%s", limits)
	}
}

func matchesAnyLine(re, text string) bool {
	for _, l := range strings.Split(text, "\n") {
		if matches(re, l) {
			return true
		}
	}
	return false
}

func TestDaemonBinaryOpensAPassphraseVault(t *testing.T) {
	t.Setenv(vault.EnvTestCheapKDF, "1") // the vault stores its KDF cost; the daemon reuses it
	root, err := os.MkdirTemp("", "pd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	pass := func() ([]byte, error) { return []byte("correct horse"), nil }
	cfg := vault.Config{StateRoot: root, Backend: "encrypted_file", KeySource: vault.KeySourcePassphrase, Passphrase: pass}.WithEnv() // the cheap KDF
	v, err := vault.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Put(context.Background(), "global", "openai_api_key", []byte("sk-test-123")); err != nil {
		t.Fatal(err)
	}
	v.Close()
	s := &site{Fixture: &fixture.Fixture{T: t, Root: root, Config: filepath.Join(root, "palyra.toml")}}
	s.WriteConfig("[model_provider]\nopenai_api_key_vault_ref = \"vault://global/openai_api_key\"\n")

	passFile := filepath.Join(root, "pass")
	os.WriteFile(passFile, []byte("wrong horse\n"), 0o600)
	cmd, out := s.command("--vault-passphrase-file", passFile)
	var ee *exec.ExitError
	if err := cmd.Run(); !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("wrong passphrase: %v\n%s", err, out)
	}
	if !matchesAnyLine(`palyra: error: model_provider\.openai_api_key_vault_ref \(line 2\): vault#[0-9a-f]{8}: i/o error: opening the vault: .*passphrase.*`, out.String()) {
		t.Fatalf("no failure line naming the passphrase:\n%s", out)
	}

	os.WriteFile(passFile, []byte("correct horse\n"), 0o600)
	cmd, out = s.command("--vault-passphrase-file", passFile)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &daemonProc{t: t, cmd: cmd, stderr: out, done: make(chan struct{}), client: api.NewClient(s.socket())}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	defer func() { cmd.Process.Kill(); <-p.done }()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := p.client.Health(context.Background()); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the daemon did not start:\n%s", out)
		}
	}
	if got := p.mustResolve(api.ResolveRequest{Path: "model_provider.openai_api_key"}); got != "sk-test-123" {
		t.Fatalf("value %q", got)
	}

	// palyra secrets get asks the daemon, which holds the vault open: no
	// passphrase is needed, and the output is what the vault would give.
	get := func(args ...string) (string, int) {
		cmd := exec.Command(palyraBin, append([]string{"secrets", "get"}, args...)...)
		cmd.Env = s.env()
		out, err := cmd.CombinedOutput()
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return string(out), cmd.ProcessState.ExitCode()
	}
	tests := []struct {
		args []string
		code int
		want string // a line of the output, as a regular expression
	}{
		{[]string{"global", "openai_api_key", "--reveal"}, 0, `sk-test-123`},
		{[]string{"vault://global/openai_api_key", "--daemon", "require", "--reveal"}, 0, `sk-test-123`},
		{[]string{"global", "openai_api_key"}, 0, `created:  \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`},
		{[]string{"global", "openai_api_key", "--json"}, 0, `\{"ref":"vault://global/openai_api_key","scope":"global","key":"openai_api_key","size":11,"created":"[^"]+","updated":"[^"]+",.*"value_bytes":11,"redacted":true\}`},
		{[]string{"global", "absent"}, 3, `palyra: error: secret not found: vault://global/absent \(asked the daemon at .*\)`},
		{[]string{"global", "openai_api_key", "--daemon", "never"}, 1, `palyra: error: .*the vault passphrase is needed and there is no terminal to ask on`},
		{[]string{"global", "openai_api_key", "--daemon", "sometimes"}, 2, `palyra: error: --daemon: must be one of auto, never, require`},
	}
	for _, tt := range tests {
		out, code := get(tt.args...)
		if code != tt.code || !matchesAnyLine(tt.want, out) {
			t.Fatalf("palyra secrets get %s: exit %d, want %d and a line matching %q:\n%s", strings.Join(tt.args, " "), code, tt.code, tt.want, out)
		}
	}

	// palyra secrets run resolves its vault references through the daemon
	// too: the child gets the value without any passphrase, and with
	// --daemon never the passphrase vault cannot be opened.
	run := func(args ...string) (string, int) {
		args = append(append([]string{"secrets", "run", "--env", "K=vault://global/openai_api_key"}, args...),
			"--", "sh", "-c", `test "$K" = sk-test-123 && echo child-saw-the-value`)
		cmd := exec.Command(palyraBin, args...)
		cmd.Env = s.env()
		out, err := cmd.CombinedOutput()
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return string(out), cmd.ProcessState.ExitCode()
	}
	if out, code := run(); code != 0 || !strings.Contains(out, "child-saw-the-value") {
		t.Fatalf("secrets run through the daemon: exit %d\n%s", code, out)
	}
	if out, code := run("--daemon", "never"); code == 0 || !strings.Contains(out, "passphrase") {
		t.Fatalf("secrets run --daemon never on a passphrase vault: exit %d\n%s", code, out)
	}

	// So does palyra secrets inject.
	tmpl := filepath.Join(s.Root, "app.conf.tmpl")
	if err := os.WriteFile(tmpl, []byte("key={{ vault://global/openai_api_key }}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	inj := exec.Command(palyraBin, "secrets", "inject", "-i", tmpl)
	inj.Env = s.env()
	if out, err := inj.CombinedOutput(); err != nil || string(out) != "key=sk-test-123\n" {
		t.Fatalf("secrets inject through the daemon: %v\n%s", err, out)
	}

	cmd.Process.Signal(syscall.SIGTERM)
	<-p.done
	if out, code := run("--daemon", "require"); code == 0 || !strings.Contains(out, "the palyra daemon is not running") {
		t.Fatalf("secrets run --daemon require without a daemon: exit %d\n%s", code, out)
	}
	if out, code := get("global", "openai_api_key", "--daemon", "require"); code != 1 || !strings.Contains(out, "the palyra daemon is not running") {
		t.Fatalf("--daemon require without a daemon: exit %d\n%s", code, out)
	}
}
