package daemon

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/daemon/api"
	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/iostreams"
)

func TestNewCmdDaemonParsesFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		check   func(*RunOptions) string
		wantErr string
	}{
		{name: "defaults", args: nil, check: func(o *RunOptions) string {
			if o.Daemon.ConfigPath != "" || o.LogFormat != "text" || o.LogLevel != "info" || o.Daemon.Socket != "" {
				return "defaults wrong"
			}
			return ""
		}},
		{name: "every flag", args: []string{"--config", "/etc/palyra.toml", "--state-root", "/s", "--vault-dir", "/v", "--socket", "/run/p.sock", "--log-format", "json", "--log-level", "debug"},
			check: func(o *RunOptions) string {
				d := o.Daemon
				if d.ConfigPath != "/etc/palyra.toml" || d.Vault.StateRoot != "/s" || d.Vault.Root != "/v" || d.Socket != "/run/p.sock" || o.LogFormat != "json" || o.LogLevel != "debug" {
					return "flags not carried"
				}
				return ""
			}},
		{name: "bad log format", args: []string{"--log-format", "xml"}, wantErr: `--log-format: must be one of text, json`},
		{name: "bad log level", args: []string{"--log-level", "loud"}, wantErr: `--log-level: must be one of debug, info, warn, error`},
		{name: "unknown subcommand", args: []string{"stop"}, wantErr: `unknown command (argument 1) for "daemon"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := iostreams.Test()
			f := cmdutil.NewFactory(ios)
			var got *RunOptions
			cmd := NewCmdDaemon(f, func(o *RunOptions) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			cmd.SilenceErrors, cmd.SilenceUsage = true, true
			err := cmd.Execute()
			if tt.wantErr != "" {
				var ue *cmdutil.UsageError
				if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want a usage error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if msg := tt.check(got); msg != "" {
				t.Fatalf("%s: %+v", msg, got)
			}
		})
	}
}

func TestStatusAsksTheSocketTheFlagsName(t *testing.T) {
	t.Setenv("PALYRA_DAEMON_SOCKET", "")
	t.Setenv("PALYRA_STATE_ROOT", "")
	dir := t.TempDir()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"status", "--socket", filepath.Join(dir, "d.sock")}, filepath.Join(dir, "d.sock")},
		{[]string{"status", "--state-root", dir}, filepath.Join(dir, "daemon", "daemon.sock")},
		{[]string{"--state-root", dir, "status", "--json"}, filepath.Join(dir, "daemon", "daemon.sock")},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			ios, _, out, _ := iostreams.Test()
			cmd := NewCmdDaemon(cmdutil.NewFactory(ios), nil)
			cmd.SetArgs(tt.args)
			cmd.SilenceErrors, cmd.SilenceUsage = true, true
			err := cmd.Execute()
			if !errors.Is(err, api.ErrNotRunning) || !strings.Contains(err.Error(), "nothing listens on "+tt.want) {
				t.Fatalf("err = %v, want ErrNotRunning naming %s", err, tt.want)
			}
			if hints := cmdutil.Hints(err); len(hints) != 1 || !strings.Contains(hints[0], "palyra daemon") {
				t.Fatalf("hints %q", hints)
			}
			if out.Len() != 0 {
				t.Fatalf("stdout %q, want nothing", out)
			}
		})
	}
}
