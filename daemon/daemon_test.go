//go:build unix

package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/palyra/palyra-vault/daemon/internal/fixture"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/daemon/api"
	"github.com/palyra/palyra-vault/daemon/internal/audit"
	"github.com/palyra/palyra-vault/vault"
)

// env is a daemon started in-process on a temporary state root, with its
// vault, configuration file, logs and a client.
type env struct {
	*fixture.Fixture
	d      *Daemon
	client *api.Client
	logs   *fixture.Buffer
}

// newEnv makes a vault holding secrets, writes toml as the configuration,
// and returns the env without starting the daemon.
func newEnv(t testing.TB, secrets map[string]string, toml string) *env {
	t.Helper()
	return &env{Fixture: fixture.New(t, secrets, toml), logs: &fixture.Buffer{}}
}

func (e *env) options() Options {
	return Options{
		ConfigPath: e.Config,
		Vault:      vault.Config{StateRoot: e.Root, Backend: "encrypted_file"},
		Logger:     slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

// start starts the daemon and serves it until the test ends.
func (e *env) start() {
	e.T.Helper()
	e.startWith(e.options())
}

// startWith is start with opts in place of e.options().
func (e *env) startWith(opts Options) {
	e.T.Helper()
	d, err := Start(context.Background(), opts)
	if err != nil {
		e.T.Fatalf("Start: %v", err)
	}
	e.d = d
	done := make(chan error, 1)
	go func() { done <- d.Serve() }()
	e.client = api.NewClient(d.Socket())
	e.T.Cleanup(func() {
		e.client.Close()
		if !d.closed {
			d.Shutdown(context.Background())
		}
		if err := <-done; err != nil {
			e.T.Errorf("Serve: %v", err)
		}
	})
}

func (e *env) resolve(req api.ResolveRequest) (string, error) {
	e.T.Helper()
	resp, err := e.client.Resolve(context.Background(), req)
	if err != nil {
		return "", err
	}
	defer resp.Value.Wipe()
	return string(resp.Value.Reveal()), nil
}

func (e *env) mustResolve(req api.ResolveRequest) string {
	e.T.Helper()
	v, err := e.resolve(req)
	if err != nil {
		e.T.Fatalf("resolving %+v: %v", req, err)
	}
	return v
}

// auditRecords returns the records of both audit files, in time order.
func (e *env) auditRecords() []audit.Record {
	e.T.Helper()
	dir := filepath.Join(e.Root, api.DirName)
	return fixture.ReadAudit(e.T, filepath.Join(dir, AuditName), filepath.Join(dir, AuditDeniedName))
}

// rawRequest sends one HTTP request over the socket and returns the status
// and the decoded error body (zero when the answer is not an error).
func rawRequest(t *testing.T, socket, method, path string, body io.Reader) (int, api.ErrorResponse) {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", socket)
	}}}
	defer hc.CloseIdleConnections()
	req, err := http.NewRequest(method, "http://d"+path, body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s %s: Content-Type %q, want application/json; body %s", method, path, ct, data)
	}
	var er api.ErrorResponse
	if resp.StatusCode >= 400 {
		if err := json.Unmarshal(data, &er); err != nil || er.Err.Code == "" || er.Err.Message == "" {
			t.Fatalf("%s %s: %d with body %q, want a JSON error", method, path, resp.StatusCode, data)
		}
	}
	return resp.StatusCode, er
}

func TestBadRequestsGet4xxJSONErrors(t *testing.T) {
	e := newEnv(t, fixture.Secrets(), fixture.Config)
	e.start()
	tests := []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"unknown endpoint", "GET", "/v2/health", "", 404, api.CodeNotFound},
		{"root", "GET", "/", "", 404, api.CodeNotFound},
		{"health by POST", "POST", api.PathHealth, "{}", 405, api.CodeMethodNotAllowed},
		{"resolve by GET", "GET", api.PathResolve, "", 405, api.CodeMethodNotAllowed},
		{"status by DELETE", "DELETE", api.PathStatus, "", 405, api.CodeMethodNotAllowed},
		{"empty body", "POST", api.PathResolve, "", 400, api.CodeBadRequest},
		{"not JSON", "POST", api.PathResolve, "path=model_provider", 400, api.CodeBadRequest},
		{"unknown field", "POST", api.PathResolve, `{"value":"x"}`, 400, api.CodeBadRequest},
		{"both fields", "POST", api.PathResolve, `{"ref":"vault://global/a","path":"b"}`, 400, api.CodeBadRequest},
		{"malformed ref", "POST", api.PathResolve, `{"ref":"vault://Global/A"}`, 400, api.CodeBadRequest},
		{"not a ref", "POST", api.PathResolve, `{"ref":"sk-pasted-secret"}`, 400, api.CodeBadRequest},
		{"body too large", "POST", api.PathResolve, `{"ref":"` + strings.Repeat("a", api.MaxRequestBytes) + `"}`, 413, api.CodeTooLarge},
		{"unknown path", "POST", api.PathResolve, `{"path":"model_provider.nope"}`, 404, api.CodeNotFound},
		{"secret as path", "POST", api.PathResolve, `{"path":"sk-pasted-secret"}`, 404, api.CodeNotFound},
		{"missing secret by ref", "POST", api.PathResolve, `{"ref":"vault://global/nope"}`, 404, api.CodeMissing},
		{"missing optional", "POST", api.PathResolve, `{"path":"tool.optional"}`, 404, api.CodeMissing},
		{"scope not readable", "POST", api.PathResolve, `{"ref":"vault://plugins/github/token"}`, 403, api.CodeForbidden},
		{"principal scope", "POST", api.PathResolve, `{"ref":"vault://principal:alice/token"}`, 403, api.CodeForbidden},
		{"env not in config", "POST", api.PathResolve, `{"ref":"env:HOME"}`, 403, api.CodeForbidden},
		{"exec not in config", "POST", api.PathResolve, `{"ref":"{ exec = [\"/bin/cat\", \"/etc/shadow\"] }"}`, 403, api.CodeForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, er := rawRequest(t, e.d.Socket(), tt.method, tt.path, strings.NewReader(tt.body))
			if status != tt.status || er.Err.Code != tt.code {
				t.Fatalf("got %d %q (%s), want %d %q", status, er.Err.Code, er.Err.Message, tt.status, tt.code)
			}
			if strings.Contains(er.Err.Message, "sk-pasted") || strings.Contains(er.Err.Message, "shadow") {
				t.Fatalf("error message repeats the request: %s", er.Err.Message)
			}
		})
	}
	// Every request to the resolve endpoint was audited: "allowed" when the
	// policy let it through (even if the source then had no value),
	// "denied" otherwise.
	var want []string
	for _, tt := range tests {
		if tt.path != api.PathResolve {
			continue
		}
		decision := audit.Denied
		if tt.code == api.CodeMissing {
			decision = audit.Allowed
		}
		want = append(want, fmt.Sprintf("%s %d", decision, tt.status))
	}
	var got []string
	for _, r := range e.auditRecords() {
		got = append(got, fmt.Sprintf("%s %d", r.Decision, r.Status))
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("audit decisions\n got %v\nwant %v", got, want)
	}
	// The daemon still serves after all that.
	if got := e.mustResolve(api.ResolveRequest{Path: "model_provider.openai_api_key"}); got != "sk-test-123" {
		t.Fatalf("value %q", got)
	}
}

func TestResolveServesByPathSettingAndRef(t *testing.T) {
	e := newEnv(t, fixture.Secrets(), fixture.Config)
	e.start()
	tests := []struct {
		name  string
		req   api.ResolveRequest
		value string
	}{
		{"by field path", api.ResolveRequest{Path: "model_provider.openai_api_key_vault_ref"}, "sk-test-123"},
		{"by setting", api.ResolveRequest{Path: "model_provider.openai_api_key"}, "sk-test-123"},
		{"by the config's ref", api.ResolveRequest{Ref: "vault://global/openai_api_key"}, "sk-test-123"},
		{"config ref outside readable scopes", api.ResolveRequest{Ref: "vault://channel:slack/token"}, "xoxb-1"},
		{"global secret not in config", api.ResolveRequest{Ref: "vault://global/other"}, "other-1"},
		{"per_use by path", api.ResolveRequest{Path: "tool.per"}, "xoxb-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := e.mustResolve(tt.req); got != tt.value {
				t.Fatalf("got %q, want %q", got, tt.value)
			}
		})
	}
	recs := e.auditRecords()
	if len(recs) != len(tests) {
		t.Fatalf("%d audit records, want %d", len(recs), len(tests))
	}
	self := uint32(os.Geteuid())
	for _, r := range recs {
		if r.Decision != audit.Allowed || r.Status != 200 || r.UID != self || r.PID != int32(os.Getpid()) || !strings.HasPrefix(r.Ref, "vault#") {
			t.Fatalf("audit record %+v", r)
		}
	}
	if recs[0].Path != "model_provider.openai_api_key_vault_ref" || recs[4].Path != "" {
		t.Fatalf("audit paths %q %q", recs[0].Path, recs[4].Path)
	}
}

func TestPerUseFollowsTheVaultAndOnStartupStaysFrozen(t *testing.T) {
	e := newEnv(t, fixture.Secrets(), fixture.Config)
	e.start()
	e.Put("vault://channel:slack/token", "xoxb-2")
	e.Put("vault://global/openai_api_key", "sk-test-456")
	if got := e.mustResolve(api.ResolveRequest{Path: "tool.per"}); got != "xoxb-2" {
		t.Fatalf("per_use served %q after the vault changed, want xoxb-2", got)
	}
	if got := e.mustResolve(api.ResolveRequest{Path: "model_provider.openai_api_key"}); got != "sk-test-123" {
		t.Fatalf("on_startup served %q, want the value from start", got)
	}
}

func TestReload(t *testing.T) {
	tests := []struct {
		name     string
		config   string
		wantErr  string
		rotating string // value of tool.reloaded served after the reload
		openai   string
	}{
		{name: "good config re-resolves on_reload and keeps on_startup", config: fixture.Config, rotating: "rot-2", openai: "sk-test-123"},
		{name: "invalid TOML keeps the old snapshot", config: "[model_provider\n", wantErr: "parsing", rotating: "rot-1", openai: "sk-test-123"},
		{name: "missing required ref keeps the old snapshot", config: fixture.Config + "\n[more]\nx_vault_ref = \"global/absent\"\n",
			wantErr: "more.x_vault_ref (line 11): vault#", rotating: "rot-1", openai: "sk-test-123"},
		{name: "invalid ref keeps the old snapshot", config: fixture.Config + "\n[more]\nx = { env = \"A\", timeout_ms = 5 }\n",
			wantErr: "more.x (line 11): invalid", rotating: "rot-1", openai: "sk-test-123"},
		{name: "bad daemon settings keep the old snapshot", config: fixture.Config + "\n[daemon]\nallowed_uids = [-1]\n",
			wantErr: "daemon.allowed_uids[0]", rotating: "rot-1", openai: "sk-test-123"},
		{name: "a changed on_startup ref is resolved anew", config: strings.Replace(fixture.Config, "global/openai_api_key", "global/other", 1),
			rotating: "rot-2", openai: "other-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, fixture.Secrets(), fixture.Config)
			e.start()
			e.Put("vault://global/rotating", "rot-2")
			e.Put("vault://global/openai_api_key", "sk-test-changed")
			e.WriteConfig(tt.config)
			err := e.d.Reload(context.Background())
			if tt.wantErr == "" && err != nil {
				t.Fatalf("Reload: %v", err)
			}
			if tt.wantErr != "" {
				var le *LoadError
				if !errors.As(err, &le) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Reload = %v, want a *LoadError containing %q", err, tt.wantErr)
				}
			}
			if got := e.mustResolve(api.ResolveRequest{Path: "tool.reloaded"}); got != tt.rotating {
				t.Fatalf("tool.reloaded = %q, want %q", got, tt.rotating)
			}
			if got := e.mustResolve(api.ResolveRequest{Path: "model_provider.openai_api_key"}); got != tt.openai {
				t.Fatalf("openai = %q, want %q", got, tt.openai)
			}
			st, err := e.client.Status(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			wantGen := uint64(2)
			if tt.wantErr != "" {
				wantGen = 1
			}
			if st.Generation != wantGen || st.LastReload == nil || st.LastReload.OK != (tt.wantErr == "") {
				t.Fatalf("status generation %d, last reload %+v", st.Generation, st.LastReload)
			}
		})
	}
}

// heldSlices returns the memory of every value the daemon holds.
func heldSlices(d *Daemon) [][]byte {
	d.mu.RLock()
	defer d.mu.RUnlock()
	var out [][]byte
	for _, e := range d.cur.entries {
		if e.held {
			out = append(out, e.value.Reveal())
		}
	}
	return out
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func TestShutdownWipesEveryHeldValue(t *testing.T) {
	e := newEnv(t, fixture.Secrets(), fixture.Config)
	e.start()
	held := heldSlices(e.d)
	if len(held) != 2 {
		t.Fatalf("%d held values, want 2 (on_startup and on_reload)", len(held))
	}
	for _, b := range held {
		if allZero(b) {
			t.Fatal("a held value is zero before shutdown")
		}
	}
	wiped, err := e.d.Shutdown(context.Background())
	if err != nil || wiped != 2 {
		t.Fatalf("Shutdown = %d, %v; want 2 wiped", wiped, err)
	}
	for _, b := range held {
		if !allZero(b) {
			t.Fatal("a held value survived shutdown")
		}
	}
	if _, err := os.Lstat(e.d.Socket()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket still there after shutdown: %v", err)
	}
	if _, err := e.d.Shutdown(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Shutdown = %v, want ErrClosed", err)
	}
	if err := e.d.Reload(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Reload after Shutdown = %v, want ErrClosed", err)
	}
}

func TestReloadWipesReplacedValuesAndKeepsCarriedOnes(t *testing.T) {
	e := newEnv(t, fixture.Secrets(), fixture.Config)
	e.start()
	before := heldSlices(e.d) // [on_startup openai, on_reload rotating]
	if err := e.d.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if allZero(before[0]) {
		t.Fatal("the unchanged on_startup value was wiped by a reload")
	}
	if !allZero(before[1]) {
		t.Fatal("the replaced on_reload value was not wiped")
	}
	if got := e.mustResolve(api.ResolveRequest{Path: "model_provider.openai_api_key"}); got != "sk-test-123" {
		t.Fatalf("after reload: %q", got)
	}
}

func TestFailedReloadWipesWhatItResolved(t *testing.T) {
	e := newEnv(t, fixture.Secrets(), fixture.Config)
	e.start()
	before := heldSlices(e.d)
	e.WriteConfig(fixture.Config + "\n[more]\nx_vault_ref = \"global/absent\"\n")
	if err := e.d.Reload(context.Background()); err == nil {
		t.Fatal("reload accepted a missing required reference")
	}
	for _, b := range before {
		if allZero(b) {
			t.Fatal("a failed reload wiped a value the old snapshot still serves")
		}
	}
}

func TestStartFailsWithOneLinePerRequiredFailure(t *testing.T) {
	e := newEnv(t, fixture.Secrets(), `
a_vault_ref = "global/absent"
b = { env = "PALYRA_TEST_UNSET_VARIABLE" }
c = { env = "PALYRA_TEST_UNSET_VARIABLE", required = false }
d_vault_ref = "global/openai_api_key"
e = { file = "/etc/hostname", trusted_dirs = ["/nonexistent"] }
`)
	_, err := Start(context.Background(), e.options())
	var le *LoadError
	if !errors.As(err, &le) {
		t.Fatalf("Start = %v, want a *LoadError", err)
	}
	lines := strings.Split(err.Error(), "\n")
	want := []string{
		"3 required references in " + e.Config + " did not resolve:",
		"a_vault_ref (line 2): vault#",
		"b (line 3): env#",
		"e (line 6): file#",
	}
	if len(lines) != len(want) {
		t.Fatalf("error has %d lines, want %d:\n%s", len(lines), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Fatalf("line %d = %q, want prefix %q", i, lines[i], w)
		}
	}
	for _, kind := range []string{"missing: the secret is not in the vault", "missing: the environment variable is not set", "blocked by policy"} {
		if !strings.Contains(err.Error(), kind) {
			t.Fatalf("error lacks %q:\n%s", kind, err)
		}
	}
	if !strings.Contains(e.logs.String(), "optional reference did not resolve") || !strings.Contains(e.logs.String(), "path=c") {
		t.Fatalf("no warning for the optional reference in the logs:\n%s", e.logs)
	}
	if strings.Contains(err.Error(), "sk-test") || strings.Contains(e.logs.String(), "sk-test") {
		t.Fatal("a value reached the error or the logs")
	}
	// Nothing listens and the lock is free: a fixed config starts.
	if _, err := os.Lstat(filepath.Join(e.Root, api.DirName, api.SocketName)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket left behind: %v", err)
	}
	e.WriteConfig(fixture.Config)
	e.start()
}

func TestSecondDaemonOnTheSameSocketIsRefused(t *testing.T) {
	e := newEnv(t, fixture.Secrets(), fixture.Config)
	e.start()
	_, err := Start(context.Background(), e.options())
	if err == nil || !strings.Contains(err.Error(), "another palyra daemon is running") {
		t.Fatalf("second Start = %v", err)
	}
	if _, err := e.client.Health(context.Background()); err != nil {
		t.Fatalf("the first daemon stopped serving: %v", err)
	}
}

func TestStaleSocketIsReplacedButOtherFilesAreNot(t *testing.T) {
	e := newEnv(t, fixture.Secrets(), fixture.Config)
	sock := filepath.Join(e.Root, api.DirName, api.SocketName)
	if err := os.MkdirAll(filepath.Dir(sock), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sock, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Start(context.Background(), e.options()); err == nil || !strings.Contains(err.Error(), "is not a socket") {
		t.Fatalf("Start over a regular file = %v", err)
	}
	os.Remove(sock)
	ln, err := net.Listen("unix", sock) // a dead daemon's socket
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	e.start()
	if _, err := e.client.Health(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestStartRefusesUnsafeConfigAndDirectories(t *testing.T) {
	tests := []struct {
		name         string
		setup        func(e *env)
		want         string
		nothingAdded bool // the daemon's directory was not created
	}{
		{"group-writable config", func(e *env) { os.Chmod(e.Config, 0o664) }, "writable by group or others", false},
		{"missing config", func(e *env) { os.Remove(e.Config) }, "no configuration file at ", true},
		{"group-writable daemon dir", func(e *env) {
			d := filepath.Join(e.Root, api.DirName)
			os.Mkdir(d, 0o700)
			os.Chmod(d, 0o770)
		}, "group-writable", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, fixture.Secrets(), fixture.Config)
			tt.setup(e)
			_, err := Start(context.Background(), e.options())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Start = %v, want an error containing %q", err, tt.want)
			}
			if _, err := os.Lstat(filepath.Join(e.Root, api.DirName)); tt.nothingAdded && !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the daemon's directory exists after the refused start (lstat: %v)", err)
			}
		})
	}
}

func TestSocketAndDirectoryModes(t *testing.T) {
	e := newEnv(t, fixture.Secrets(), fixture.Config)
	e.start()
	for path, want := range map[string]os.FileMode{
		e.d.Socket():                                        0o600,
		filepath.Join(e.Root, api.DirName):                  0o700,
		filepath.Join(e.Root, api.DirName, AuditName):       0o600,
		filepath.Join(e.Root, api.DirName, AuditDeniedName): 0o600,
	} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s mode %v, want %v", path, fi.Mode().Perm(), want)
		}
	}
}

func TestSocketSharedOpensTheSocketAndReloadClosesIt(t *testing.T) {
	e := newEnv(t, fixture.Secrets(), fixture.Config+"\n[daemon]\nsocket_shared = true\n")
	e.start()
	dir := filepath.Dir(e.d.Socket())
	modes := func() (os.FileMode, os.FileMode) {
		s, err1 := os.Stat(e.d.Socket())
		d, err2 := os.Stat(dir)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		return s.Mode().Perm(), d.Mode().Perm()
	}
	if s, d := modes(); s != 0o666 || d != 0o711 {
		t.Fatalf("shared: socket %v, directory %v; want 0666 and 0711", s, d)
	}
	e.WriteConfig(fixture.Config)
	if err := e.d.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s, d := modes(); s != 0o600 || d != 0o700 {
		t.Fatalf("after reload without socket_shared: socket %v, directory %v; want 0600 and 0700", s, d)
	}
}

func TestLogsAndStatusNeverHoldValues(t *testing.T) {
	e := newEnv(t, fixture.Secrets(), fixture.Config)
	e.start()
	e.mustResolve(api.ResolveRequest{Path: "tool.per"})
	e.mustResolve(api.ResolveRequest{Path: "model_provider.openai_api_key"})
	e.d.Reload(context.Background())
	st, err := e.client.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(st)
	audit, _ := os.ReadFile(filepath.Join(e.Root, api.DirName, AuditName))
	for _, v := range fixture.Secrets() {
		for name, text := range map[string]string{"status": string(js), "logs": e.logs.String(), "audit": string(audit)} {
			if strings.Contains(text, v) {
				t.Fatalf("%s holds the value %q", name, v)
			}
		}
	}
}

func TestResolveAnswerCarriesTheVaultMetadata(t *testing.T) {
	e := newEnv(t, fixture.Secrets(), fixture.Config)
	e.start()
	for _, req := range []api.ResolveRequest{
		{Path: "model_provider.openai_api_key"}, // held
		{Path: "tool.per"},                      // per_use
		{Ref: "vault://global/other"},           // not in the configuration
	} {
		resp, err := e.client.Resolve(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Value.Wipe()
		m := resp.Vault
		if m == nil {
			t.Fatalf("%+v: no vault metadata", req)
		}
		md, err := e.Vault.Stat(context.Background(), m.Scope, m.Key)
		if err != nil {
			t.Fatalf("%+v: metadata names %s/%s: %v", req, m.Scope, m.Key, err)
		}
		if !m.Created.Equal(md.Created) || !m.Updated.Equal(md.Updated) || resp.Size != md.Size {
			t.Fatalf("%+v: metadata %+v size %d, vault says %+v", req, m, resp.Size, md)
		}
	}
	t.Setenv("PALYRA_TEST_ENV_REF", "v")
	e.WriteConfig(fixture.Config + "\n[x]\ne = { env = \"PALYRA_TEST_ENV_REF\" }\n")
	if err := e.d.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	resp, err := e.client.Resolve(context.Background(), api.ResolveRequest{Path: "x.e"})
	if err != nil || resp.Vault != nil {
		t.Fatalf("env reference: %v, vault metadata %+v; want none", err, resp.Vault)
	}
}

// TestLargeValuesCrossTheWireWhole checks values from a byte to the
// vault's 64 KiB limit through the real server and the real client, whose HTTP is
// written by hand (daemon/api/httpwire.go): every answer is delimited by
// its Content-Length and read back byte for byte.
func TestLargeValuesCrossTheWireWhole(t *testing.T) {
	e := newEnv(t, fixture.Secrets(), fixture.Config)
	e.start()
	for _, size := range []int{1, 2047, 2048, 4096, 40_000, 65_536} { // up to the vault's limit
		value := strings.Repeat("v", size-1) + "!"
		e.Put("vault://global/big", value)
		resp, err := e.client.Resolve(context.Background(), api.ResolveRequest{Ref: "vault://global/big"})
		if err != nil {
			t.Fatalf("%d bytes: %v", size, err)
		}
		if string(resp.Value.Reveal()) != value {
			t.Errorf("%d bytes: got %d bytes back, not the same", size, resp.Value.Len())
		}
		resp.Value.Wipe()
	}
}
