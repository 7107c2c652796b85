// Package delegate hands a command to the palyra-extra program.
//
// Every palyra process pays, before main, the package initialisation of
// everything the binary links, and most commands are short: a script's
// "palyra secrets get" pays it on every call. A few commands need large
// libraries that nothing else does: "palyra daemon" (the HTTP server),
// "palyra secrets export" / "import" (age, for encrypted backups),
// "palyra secrets host-key" / "members" (age, for member keys), and every
// command on a vault shared on etcd (its client). They live in a second
// program, palyra-extra, installed beside palyra: the whole command tree,
// those included. In palyra each such command is a stub built here that
// replaces the process with palyra-extra and the same command line (an
// etcd vault's commands are handed over by the secrets group, with Exec),
// so users see one command (docs/CLI.md, "Programs"; docs/PERFORMANCE.md,
// "Start-up").
//
// palyra-extra is looked for only in the directory of the running palyra
// executable (symbolic links resolved), never on $PATH: the program that
// handles the vault's backups and serves its secrets comes from where
// palyra itself was installed.
package delegate

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/spf13/cobra"
)

// Program is the name of the program that holds the delegated commands.
const Program = "palyra-extra"

// ErrNotInstalled is wrapped by the error of a delegated command when
// palyra-extra is not beside palyra.
var ErrNotInstalled = errors.New(Program + " is not installed beside palyra")

// Command is a command that palyra-extra holds: its path below "palyra"
// (the key of cmdutil.Factory.Extra) and the Use and Short that the real
// command and palyra's stub of it both show.
type Command struct {
	Path  string
	Use   string
	Short string
}

// The commands palyra-extra holds.
var (
	Daemon = Command{"daemon", "daemon [--config <file>]", "Serve the configuration's secrets to local processes"}
	Export = Command{"secrets export", "export -o FILE", "Write every secret into one encrypted backup file"}
	Import = Command{"secrets import", "import FILE", "Restore secrets from a backup made by export"}
	// HostKey and Members handle member keys, which use age.
	HostKey = Command{"secrets host-key", "host-key", "Print this host's recipient for a shared vault's member keys"}
	Members = Command{"secrets members", "members <command>", "List, add and remove the hosts that hold a shared vault's key"}

	MembersList   = Command{"secrets members list", "list", "List the recipients of the member hosts"}
	MembersAdd    = Command{"secrets members add", "add <recipient>", "Give a host (its recipient, from its host-key) a copy of the vault's key"}
	MembersRemove = Command{"secrets members remove", "remove <recipient>", "Take a host out: rotate the vault's key to the other members and rewrap every secret"}
)

// subcommands lists the subcommands of a delegated group, by its path:
// palyra's stub of the group gets a stub of each, so both programs list
// the same commands.
var subcommands = map[string][]Command{
	Members.Path: {MembersList, MembersAdd, MembersRemove},
}

// Build returns c's real command when f.Extra has it (in palyra-extra),
// else NewCmd(c) (in palyra).
func (c Command) Build(f *cmdutil.Factory) *cobra.Command {
	if build := f.Extra[c.Path]; build != nil {
		return build(f)
	}
	return NewCmd(c)
}

// Path returns where palyra-extra must be: beside the running executable.
func Path() (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("finding the palyra executable: %w", err)
	}
	if resolved, err := filepath.EvalSymlinks(self); err == nil {
		self = resolved
	}
	name := Program
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	return filepath.Join(filepath.Dir(self), name), nil
}

// NewCmd returns the stub of c: its Use and Short, no flags of its own,
// and a run and a help that both hand the whole command line to
// palyra-extra. Flag parsing is off, so every argument, including --help,
// reaches palyra-extra as it was typed. Subcommands added to the stub
// ("palyra daemon status") run in palyra and show their own help.
func NewCmd(c Command) *cobra.Command {
	cmd := &cobra.Command{
		Use:                c.Use,
		Short:              c.Short,
		DisableFlagParsing: true,
		Args:               cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return Exec(commandWords(cmd), args)
		},
		ValidArgsFunction: complete,
	}
	for _, sub := range subcommands[c.Path] {
		cmd.AddCommand(NewCmd(sub))
	}
	stub := cmd
	cmd.SetHelpFunc(func(cmd *cobra.Command, args []string) {
		if cmd != stub { // a subcommand of the stub, which palyra holds
			cmd.Root().HelpFunc()(cmd, args)
			return
		}
		if err := Exec(commandWords(cmd), []string{"--help"}); err != nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "palyra: error: %v\n", err)
		}
	})
	return cmd
}

// complete answers shell completion for a stub by asking palyra-extra's
// own completion ("palyra-extra __complete <command> <args> <word>", the
// request cobra's completion scripts make), so that its flags and their
// values complete as if palyra had them. Anything amiss completes nothing.
func complete(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	none := cobra.ShellCompDirectiveNoFileComp
	path, err := Path()
	if err != nil {
		return nil, none
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	argv := append(append(append([]string{cobra.ShellCompRequestCmd}, commandWords(cmd)...), args...), toComplete)
	out, err := exec.CommandContext(ctx, path, argv...).Output()
	if err != nil {
		return nil, none
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	last := lines[len(lines)-1]
	directive, err := strconv.Atoi(strings.TrimPrefix(last, ":"))
	if !strings.HasPrefix(last, ":") || err != nil {
		return nil, none
	}
	var comps []cobra.Completion
	for _, l := range lines[:len(lines)-1] {
		if l != "" {
			comps = append(comps, l)
		}
	}
	return comps, cobra.ShellCompDirective(directive)
}

// commandWords returns cmd's path below the root: ["secrets", "export"].
func commandWords(cmd *cobra.Command) []string {
	return strings.Fields(cmd.CommandPath())[1:]
}

// Exec runs palyra-extra with words and then args as its arguments, in
// place of this process where the system allows (Unix: the same process
// id, signals and exit status, which service managers rely on for "palyra
// daemon"), else as a child whose exit status becomes palyra's. It returns
// only on failure to start palyra-extra, with an error that says where it
// was looked for and how to install it.
func Exec(words, args []string) error {
	path, err := Path()
	if err != nil {
		return err
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return cmdutil.WithHints(fmt.Errorf("%q needs %s: %w (looked for %s)", "palyra "+strings.Join(words, " "), Program, ErrNotInstalled, path),
			"install both programs in one directory: scripts/build.sh builds palyra and "+Program+" side by side (README, \"Using it\")")
	}
	argv := append(append([]string{Program}, words...), args...)
	err = execProgram(path, argv)
	var exit *cmdutil.ExitError
	if err != nil && !errors.As(err, &exit) {
		err = fmt.Errorf("running %s: %w", path, err)
	}
	return err
}
