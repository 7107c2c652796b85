package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/config"
	"github.com/palyra/palyra-vault/resolve"
	"github.com/palyra/palyra-vault/secret"
)

func parseSettings(t *testing.T, toml string) (*Settings, error) {
	t.Helper()
	doc, err := config.Parse([]byte(toml))
	if err != nil {
		t.Fatalf("parsing test TOML: %v", err)
	}
	return ParseSettings(doc.Tree())
}

func TestParseSettings(t *testing.T) {
	tests := []struct {
		name    string
		toml    string
		check   func(*Settings) string // returns a complaint, or ""
		wantErr []string               // substrings, each must appear
	}{
		{name: "no table gives defaults", toml: "[other]\nx = 1\n", check: func(s *Settings) string {
			if len(s.AllowedUIDs) != 0 || fmt.Sprint(s.Scopes()) != "[global]" || len(s.Principals) != 0 {
				return fmt.Sprintf("%+v", s)
			}
			return ""
		}},
		{name: "every setting", toml: `[daemon]
allowed_uids = [1001, 1002, 1001]
readable_scopes = ["global", "plugins/github"]
trusted_dirs = ["/run/secrets", "~/secrets"]
audit_max_bytes = 65536
audit_keep = 3
socket_shared = true
[daemon.principals]
alice = [1001]
bob = [1002]
`, check: func(s *Settings) string {
			if fmt.Sprint(s.AllowedUIDs) != "[1001 1002]" || fmt.Sprint(s.Scopes()) != "[global plugins/github]" ||
				fmt.Sprint(s.TrustedDirs) != "[/run/secrets ~/secrets]" || s.AuditMaxBytes != 65536 || s.AuditKeep != 3 || !s.SocketShared ||
				s.Principals[1001] != "alice" || s.Principals[1002] != "bob" {
				return fmt.Sprintf("%+v", s)
			}
			return ""
		}},
		{name: "empty readable_scopes means none", toml: "[daemon]\nreadable_scopes = []\n", check: func(s *Settings) string {
			if s.Scopes() == nil || len(s.Scopes()) != 0 {
				return fmt.Sprint(s.Scopes())
			}
			return ""
		}},
		{name: "unknown setting", toml: "[daemon]\nallowed_uid = [1]\n", wantErr: []string{`daemon."allowed_uid": unknown setting; the settings are allowed_uids`}},
		{name: "daemon not a table", toml: "daemon = 3\n", wantErr: []string{"daemon: must be a table"}},
		{name: "negative uid", toml: "[daemon]\nallowed_uids = [5, -1]\n", wantErr: []string{"daemon.allowed_uids[1]: must be an integer between 0 and 4294967294"}},
		{name: "uid not a number", toml: "[daemon]\nallowed_uids = [\"1000\"]\n", wantErr: []string{"daemon.allowed_uids[0]: must be an integer"}},
		{name: "uids not a list", toml: "[daemon]\nallowed_uids = 1000\n", wantErr: []string{"daemon.allowed_uids: must be an array"}},
		{name: "bad scope", toml: "[daemon]\nreadable_scopes = [\"Global\"]\n", wantErr: []string{"daemon.readable_scopes[0]:", "invalid scope"}},
		{name: "principal scope not readable by all", toml: "[daemon]\nreadable_scopes = [\"principal:alice\"]\n", wantErr: []string{`daemon.readable_scopes[0]: names a principal scope`}},
		{name: "relative trusted dir", toml: "[daemon]\ntrusted_dirs = [\"secrets\"]\n", wantErr: []string{"daemon.trusted_dirs[0]: must be an absolute path"}},
		{name: "trusted dir with dot-dot", toml: "[daemon]\ntrusted_dirs = [\"/run/../etc\"]\n", wantErr: []string{`daemon.trusted_dirs[0]: must not contain a ".." element`}},
		{name: "audit size too small", toml: "[daemon]\naudit_max_bytes = 10\n", wantErr: []string{"daemon.audit_max_bytes: must be an integer between 4096"}},
		{name: "audit keep zero", toml: "[daemon]\naudit_keep = 0\n", wantErr: []string{"daemon.audit_keep: must be an integer between 1 and 100"}},
		{name: "socket_shared not a bool", toml: "[daemon]\nsocket_shared = \"yes\"\n", wantErr: []string{"daemon.socket_shared: must be true or false"}},
		{name: "principal id with a slash", toml: "[daemon.principals]\n\"a/b\" = [1]\n", wantErr: []string{`daemon.principals."a/b": a principal id is 1 to 256 bytes`}},
		{name: "principal id with a backslash", toml: "[daemon.principals]\n'a\\b' = [1]\n", wantErr: []string{"a principal id is 1 to 256 bytes"}},
		{name: "principal id with white space at an end", toml: "[daemon.principals]\n\" alice\" = [1]\n", wantErr: []string{"a principal id is 1 to 256 bytes"}},
		{name: "principal id with a control character", toml: "[daemon.principals]\n\"a\\tb\" = [1]\n", wantErr: []string{"a principal id is 1 to 256 bytes"}},
		{name: "principal id of 257 bytes", toml: "[daemon.principals]\n\"" + strings.Repeat("a", 257) + "\" = [1]\n", wantErr: []string{"a principal id is 1 to 256 bytes"}},
		{name: "Palyra principal ids", toml: "[daemon.principals]\n\"Alice@Example.com\" = [1]\n\"a:b\" = [2]\n\"" + strings.Repeat("z", 256) + "\" = [3]\n", check: func(s *Settings) string {
			if s.Principals[1] != "Alice@Example.com" || s.Principals[2] != "a:b" || len(s.Principals[3]) != 256 {
				return fmt.Sprintf("principals = %v", s.Principals)
			}
			return ""
		}},
		{name: "principal without uids", toml: "[daemon.principals]\nalice = []\n", wantErr: []string{"daemon.principals.alice: must be a non-empty array"}},
		{name: "uid in two principals", toml: "[daemon.principals]\nalice = [7]\nbob = [7]\n", wantErr: []string{`daemon.principals.bob[0]: this uid is already principal "alice"`}},
		{name: "connection limits default", toml: "[daemon]\n", check: func(s *Settings) string {
			if total, perUID := s.ConnLimits(); total != DefaultMaxConnections || perUID != DefaultMaxConnectionsPerUID {
				return fmt.Sprintf("limits %d, %d", total, perUID)
			}
			return ""
		}},
		{name: "connection limits set", toml: "[daemon]\nmax_connections = 10\nmax_connections_per_uid = 3\n", check: func(s *Settings) string {
			if total, perUID := s.ConnLimits(); total != 10 || perUID != 3 {
				return fmt.Sprintf("limits %d, %d", total, perUID)
			}
			return ""
		}},
		{name: "max_connections too small", toml: "[daemon]\nmax_connections = 1\n", wantErr: []string{"daemon.max_connections: must be an integer between 2 and 65536"}},
		{name: "max_connections_per_uid zero", toml: "[daemon]\nmax_connections_per_uid = 0\n", wantErr: []string{"daemon.max_connections_per_uid: must be an integer between 1"}},
		{name: "per-uid limit not below the total", toml: "[daemon]\nmax_connections = 8\nmax_connections_per_uid = 8\n",
			wantErr: []string{"daemon.max_connections_per_uid: must be less than max_connections"}},
		{name: "per-uid limit above the default total", toml: "[daemon]\nmax_connections_per_uid = 2000\n",
			wantErr: []string{"daemon.max_connections_per_uid: must be less than max_connections (default 1024)"}},
		{name: "errors reported together", toml: "[daemon]\nallowed_uids = [-1]\naudit_keep = 0\n", wantErr: []string{"allowed_uids[0]", "audit_keep"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := parseSettings(t, tt.toml)
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("accepted: %+v", s)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Fatalf("error %q does not contain %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if msg := tt.check(s); msg != "" {
				t.Fatalf("settings wrong: %s", msg)
			}
		})
	}
}

func TestPrincipalUIDsMustBeAllowedToCall(t *testing.T) {
	s, err := parseSettings(t, "[daemon]\nallowed_uids = [1001]\n[daemon.principals]\nalice = [1001]\nbob = [1002]\nself = [0]\n")
	if err != nil {
		t.Fatal(err)
	}
	err = s.CheckUIDs(0)
	if err == nil || !strings.Contains(err.Error(), "daemon.principals.bob: uid 1002 may not call the daemon") {
		t.Fatalf("CheckUIDs = %v, want bob's uid refused", err)
	}
	if strings.Contains(err.Error(), "alice") || strings.Contains(err.Error(), "self") {
		t.Fatalf("CheckUIDs refused an allowed uid: %v", err)
	}
}

func TestAuthorize(t *testing.T) {
	s, err := parseSettings(t, "[daemon]\nreadable_scopes = [\"global\", \"plugins\"]\nallowed_uids = [1, 2]\n[daemon.principals]\nalice = [1]\nbob = [2]\n")
	if err != nil {
		t.Fatal(err)
	}
	vref := func(scope string) resolve.Ref { return resolve.VaultRef(secret.Ref{Scope: scope, Key: "k"}) }
	tests := []struct {
		name      string
		principal string
		ref       resolve.Ref
		inConfig  bool
		want      string // "" allowed, else a substring of the reason
	}{
		{"global by ref", "", vref("global"), false, ""},
		{"below a readable scope", "", vref("plugins/github"), false, ""},
		{"prefix that is not a parent", "", vref("pluginsx"), false, `scope "pluginsx" is not readable by reference`},
		{"unlisted scope", "", vref("channel:slack"), false, "not in daemon.readable_scopes (global, plugins)"},
		{"unlisted scope held by the config", "", vref("channel:slack"), true, ""},
		{"own principal scope", "alice", vref("principal:alice"), false, ""},
		{"own principal subscope", "alice", vref("principal:alice/tools"), false, ""},
		{"another principal's scope", "bob", vref("principal:alice"), false, `belongs to principal "alice", not to the caller's principal "bob"`},
		{"principal scope without principal", "", vref("principal:alice"), false, "mapped to no principal"},
		{"principal scope even when in config", "bob", vref("principal:alice"), true, `belongs to principal "alice"`},
		{"principal segment deeper down", "bob", vref("plugins/principal:alice"), false, `belongs to principal "alice"`},
		{"principal scope below readable scope", "", vref("plugins/principal:alice"), false, "mapped to no principal"},
		{"env ref in config", "", resolve.EnvRef("TOKEN"), true, ""},
		{"env ref not in config", "", resolve.EnvRef("HOME"), false, "env references are resolved only when the configuration holds them"},
		{"exec ref not in config", "alice", resolve.ExecRef("/bin/cat", "/etc/shadow"), false, "exec references are resolved only"},
		{"file ref not in config", "", resolve.FileRef("/etc/shadow"), false, "file references are resolved only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.authorize(tt.principal, tt.ref, tt.inConfig)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && err == nil:
				t.Fatalf("allowed, want refused with %q", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Fatalf("reason %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestAllowedUIDIsSelfOrListed(t *testing.T) {
	s := &Settings{AllowedUIDs: []uint32{1001}}
	for uid, want := range map[uint32]bool{500: true, 1001: true, 0: false, 65534: false} {
		if got := s.allowedUID(500, uid); got != want {
			t.Errorf("allowedUID(self 500, %d) = %v, want %v", uid, got, want)
		}
	}
}

// A secret pasted into a [daemon] setting by mistake must not reach the
// error that refuses it, whatever the setting and the value's shape.
func TestSettingsErrorsNeverQuoteTheValue(t *testing.T) {
	const pasted, number = "sk-Proj-ABCdef0123456789secret", "7382019461187"
	values := []string{
		`"` + pasted + `"`, number, "-" + number, number + ".5",
		`["` + pasted + `"]`, `[` + number + `]`, `[["` + pasted + `"]]`,
		`{ k = "` + pasted + `" }`, `[{ k = "` + pasted + `" }]`,
	}
	var ids map[string][]uint32
	settings := append(settingsTable(&Settings{}, &ids).Names(), "unknown_setting")
	for _, v := range values {
		for _, name := range settings {
			doc := "[daemon]\n" + name + " = " + v + "\n"
			if name == "principals" {
				doc = "[daemon.principals]\nalice = " + v + "\n"
			}
			_, err := parseSettings(t, doc)
			if err == nil {
				t.Errorf("%s: accepted", doc)
				continue
			}
			for _, leak := range []string{pasted, "ABCdef", number} {
				if strings.Contains(err.Error(), leak) {
					t.Errorf("%s: error %q shows %q", doc, err, leak)
				}
			}
		}
	}
}

// palyra.toml keeps Palyra's own [daemon] keys, which the daemon leaves
// alone; our settings come from palyra-vault.toml beside it, or, with a
// warning, from palyra.toml's [daemon] table as before they moved; both at
// once is an error naming both files.
func TestLoadSettings(t *testing.T) {
	tests := []struct {
		name, palyra, ours string // ours "" : no settings file
		wantErr            string
		wantUIDs           []uint32
		wantFrom           string // "settings", "palyra" or ""
		wantMoved          []string
	}{
		{name: "Palyra's keys alone", palyra: "[daemon]\nbind_addr = \"127.0.0.1\"\nport = 7142\n"},
		{name: "settings file", palyra: "[daemon]\nport = 7142\n", ours: "[daemon]\nallowed_uids = [1001]\n",
			wantUIDs: []uint32{1001}, wantFrom: "settings"},
		{name: "legacy table with Palyra's keys", palyra: "[daemon]\nport = 7142\nallowed_uids = [1002]\nsocket_shared = true\n",
			wantUIDs: []uint32{1002}, wantFrom: "palyra", wantMoved: []string{"allowed_uids", "socket_shared"}},
		{name: "both", palyra: "[daemon]\nallowed_uids = [1002]\n", ours: "[daemon]\nallowed_uids = [1001]\n",
			wantErr: "palyra-vault settings are in both"},
		{name: "unknown key in palyra.toml", palyra: "[daemon]\nprot = 1\n",
			wantErr: `daemon."prot": unknown setting; Palyra's [daemon] keys are bind_addr, port and palyra-vault's (in palyra-vault.toml) are allowed_uids`},
		{name: "Palyra's key in our file", palyra: "", ours: "[daemon]\nport = 1\n", wantErr: `daemon."port": unknown setting`},
		{name: "other table in our file", palyra: "", ours: "[model_provider]\nkind = \"x\"\n", wantErr: `"model_provider": unknown table`},
		{name: "broken setting in our file names the file", palyra: "", ours: "[daemon]\nallowed_uids = \"all\"\n",
			wantErr: "palyra-vault.toml: daemon.allowed_uids: must be an array of user ids"},
		{name: "empty settings file", palyra: "[daemon]\nport = 1\n", ours: "", wantFrom: "settings"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := filepath.Join(dir, "palyra.toml")
			settingsPath := SettingsPath(cfg)
			if tt.ours != "" || tt.wantFrom == "settings" {
				if err := os.WriteFile(settingsPath, []byte(tt.ours), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			doc, err := config.Parse([]byte(tt.palyra))
			if err != nil {
				t.Fatal(err)
			}
			checked := ""
			s, src, err := LoadSettings(doc.Tree(), settingsPath, func(p string) error { checked = p; return nil })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(s.AllowedUIDs, tt.wantUIDs) {
				t.Errorf("allowed_uids %v, want %v", s.AllowedUIDs, tt.wantUIDs)
			}
			switch tt.wantFrom {
			case "settings":
				if src.Path != settingsPath || checked != settingsPath {
					t.Errorf("source %q (checked %q), want the settings file", src.Path, checked)
				}
			case "palyra":
				w := src.Warning(settingsPath)
				if !strings.Contains(w, "moved to "+settingsPath) || !strings.Contains(w, "Palyra refuses them") {
					t.Errorf("warning %q", w)
				}
			default:
				if src.Path != "" {
					t.Errorf("source %q, want none", src.Path)
				}
			}
			if !reflect.DeepEqual(src.Moved, tt.wantMoved) {
				t.Errorf("moved %v, want %v", src.Moved, tt.wantMoved)
			}
		})
	}
}
