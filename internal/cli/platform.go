package cli

import (
	"slices"

	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/spf13/cobra"
)

// platformCommands are the top-level commands of the Palyra platform's own
// palyra (crate palyra-cli, args/mod.rs, enum Command, in clap's
// kebab-case, with their aliases) that this palyra does not have. Both
// programs are called palyra; this list lets ours say where such a command
// belongs instead of "unknown command".
var platformCommands = []string{
	"acp", "agent", "agents", "approvals", "auth", "backup", "browser",
	"channels", "config", "configure", "cron", "dashboard", "deployment",
	"devices", "docs", "doctor", "flows", "gateway", "health", "hooks",
	"init", "jobs", "logs", "mcp", "memory", "message", "models", "node",
	"nodes", "objectives", "onboard", "onboarding", "pairing", "patch",
	"plugins", "policy", "profile", "protocol", "reset", "routines",
	"sandbox", "security", "sessions", "setup", "skill", "skills", "status",
	"support-bundle", "system", "tui", "tunnel", "uninstall", "update",
	"version", "webhooks",
}

// rootArgs is the root command's Args check: cmdutil.NoSubcommand, except
// that a command of the Palyra platform's CLI is named as such (it is a
// known word, so repeating it reveals nothing).
func rootArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 && slices.Contains(platformCommands, args[0]) {
		return cmdutil.WithHints(
			cmdutil.UsageErrorf("%q is a command of the Palyra platform's CLI, not of this palyra (the secrets vault: palyra secrets, palyra daemon, palyra completion)", args[0]),
			"run it with the Palyra platform's own palyra: the two install side by side, so call that one by its full path or put its directory first on PATH (docs/COMPAT.md, \"Two programs named palyra\")")
	}
	return cmdutil.NoSubcommand(cmd, args)
}
