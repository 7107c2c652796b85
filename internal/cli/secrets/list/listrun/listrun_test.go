package listrun

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/internal/cli/clitest"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/secret"
)

func TestListOutputAdaptsToTheTerminal(t *testing.T) {
	v, open := clitest.Vault(t)
	ctx := context.Background()
	for _, r := range []secret.Ref{{Scope: "global", Key: "zeta"}, {Scope: "global", Key: "alpha"}, {Scope: "plugins/github", Key: "token"}} {
		if _, err := v.Put(ctx, r.Scope, r.Key, []byte("sk-"+r.Key)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name      string
		tty, json bool
		scope     string
		check     func(t *testing.T, out string)
	}{
		{"terminal: table with header", true, false, "", func(t *testing.T, out string) {
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if len(lines) != 4 || !strings.HasPrefix(lines[0], "SCOPE") || !strings.HasPrefix(lines[1], "global ") || !strings.Contains(lines[1], "alpha") || !strings.HasPrefix(lines[3], "plugins/github") {
				t.Fatalf("table = %q", out)
			}
			if strings.Contains(out, "\t") {
				t.Fatalf("table has tabs: %q", out)
			}
		}},
		{"piped: tab-separated, no header", false, false, "", func(t *testing.T, out string) {
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if len(lines) != 3 || !strings.HasPrefix(lines[0], "global\talpha\t8\t") || len(strings.Split(lines[2], "\t")) != 5 {
				t.Fatalf("plain = %q", out)
			}
		}},
		{"one scope", false, false, "plugins/github", func(t *testing.T, out string) {
			if !strings.HasPrefix(out, "plugins/github\ttoken\t") || strings.Count(out, "\n") != 1 {
				t.Fatalf("plain = %q", out)
			}
		}},
		{"json, pretty on a terminal", true, true, "", func(t *testing.T, out string) {
			var obj struct {
				Scope   string           `json:"scope"`
				Count   int              `json:"count"`
				Backend string           `json:"backend"`
				Entries []map[string]any `json:"entries"`
			}
			if err := json.Unmarshal([]byte(out), &obj); err != nil || obj.Count != 3 || len(obj.Entries) != 3 || obj.Entries[0]["key"] != "alpha" || obj.Backend != "encrypted_file" || obj.Scope != "" {
				t.Fatalf("json = %q, %v", out, err)
			}
			if _, ok := obj.Entries[0]["created_at_unix_ms"].(float64); !ok {
				t.Fatalf("entry lacks Palyra's created_at_unix_ms: %v", obj.Entries[0])
			}
			if !strings.Contains(out, "\n  ") {
				t.Fatalf("json on a terminal is not indented: %q", out)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, out, errOut := iostreams.Test()
			ios.SetStdoutTTY(tt.tty)
			if err := Run(ctx, &Options{IO: ios, Vault: open, Scope: tt.scope, JSON: tt.json}); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(out.String(), "sk-") || errOut.Len() != 0 {
				t.Fatalf("out=%q errOut=%q", out, errOut)
			}
			tt.check(t, out.String())
		})
	}
}

func TestListEmptySaysSoOnlyOnATerminal(t *testing.T) {
	_, open := clitest.Vault(t)
	for _, tty := range []bool{false, true} {
		ios, _, out, errOut := iostreams.Test()
		ios.SetStdoutTTY(tty)
		if err := Run(context.Background(), &Options{IO: ios, Vault: open, Scope: "global"}); err != nil {
			t.Fatal(err)
		}
		wantNote := ""
		if tty {
			wantNote = "palyra: no secrets stored in scope \"global\"\n"
		}
		if out.Len() != 0 || errOut.String() != wantNote {
			t.Fatalf("tty=%v: out=%q errOut=%q, want no output and note %q", tty, out, errOut, wantNote)
		}
	}
}

func TestWithinTakesWholeSegments(t *testing.T) {
	tests := []struct {
		scope, parent string
		want          bool
	}{
		{"plugins", "plugins", true},
		{"plugins/github", "plugins", true},
		{"plugins/github/x", "plugins", true},
		{"pluginsx", "plugins", false},
		{"pluginsx/github", "plugins", false},
		{"plugins", "plugins/github", false},
		{"global", "plugins", false},
		{"global", "", true},
	}
	for _, tt := range tests {
		if got := within(tt.scope, tt.parent); got != tt.want {
			t.Errorf("within(%q, %q) = %v, want %v", tt.scope, tt.parent, got, tt.want)
		}
	}
}

func TestListRecursiveTakesTheScopeAndItsSubtree(t *testing.T) {
	v, open := clitest.Vault(t)
	ctx := context.Background()
	for _, r := range []secret.Ref{{Scope: "plugins", Key: "a"}, {Scope: "plugins/github", Key: "token"}, {Scope: "plugins/github/x", Key: "b"}, {Scope: "pluginsx", Key: "c"}, {Scope: "global", Key: "d"}} {
		if _, err := v.Put(ctx, r.Scope, r.Key, []byte("sk-"+r.Key)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		scope     string
		recursive bool
		want      string
	}{
		{"plugins", false, "plugins/a"},
		{"plugins", true, "plugins/a plugins/github/token plugins/github/x/b"},
		{"plugins/github", true, "plugins/github/token plugins/github/x/b"},
		{"pluginsx", true, "pluginsx/c"},
		{"nothing", true, ""},
		{"", true, "global/d plugins/a plugins/github/token plugins/github/x/b pluginsx/c"},
	}
	for _, tt := range tests {
		for _, asJSON := range []bool{false, true} {
			ios, _, out, _ := iostreams.Test()
			if err := Run(ctx, &Options{IO: ios, Vault: open, Scope: tt.scope, Recursive: tt.recursive, JSON: asJSON}); err != nil {
				t.Fatal(err)
			}
			var got []string
			if asJSON {
				var obj struct {
					Entries []map[string]any `json:"entries"`
				}
				if err := json.Unmarshal(out.Bytes(), &obj); err != nil {
					t.Fatalf("json = %q: %v", out, err)
				}
				for _, m := range obj.Entries {
					got = append(got, m["scope"].(string)+"/"+m["key"].(string))
				}
			} else {
				for _, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
					if f := strings.Split(line, "\t"); len(f) == 5 {
						got = append(got, f[0]+"/"+f[1])
					}
				}
			}
			if strings.Join(got, " ") != tt.want {
				t.Errorf("list %q recursive %v json %v = %q, want %q", tt.scope, tt.recursive, asJSON, got, tt.want)
			}
		}
	}
}
