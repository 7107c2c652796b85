// Package delegate hands a command line to the palyra-extra program.
//
// Every palyra process pays, before main, the package initialisation and
// first page faults of everything its binary links, and most commands are
// short: a script's "palyra secrets get" pays it on every call. So the
// command line is two programs (docs/CLI.md, "Programs"): palyra serves
// "--version" and "secrets get", "set", "list", "delete" and "run" itself,
// with a parser of its own and no command-line library (package lean), and hands
// every other command line, unchanged, to palyra-extra, installed beside
// it: the whole cobra command tree, with what only it links (the daemon's
// HTTP server, age for backups and member keys, the etcd client of a
// shared vault, cobra itself). Exec does the handing over (it replaces the
// process where the system allows); a hot verb on a vault shared on etcd
// is handed over too (vaultflags.Prepare). The Commands here are those
// that only palyra-extra can build; package stub makes their stand-ins for
// a cobra tree built without them.
//
// palyra-extra is looked for only in the directory of the running palyra
// executable (symbolic links resolved), never on $PATH: the program that
// handles the vault's backups and serves its secrets comes from where
// palyra itself was installed.
package delegate

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/palyra/palyra-vault/internal/cli/clierr"
)

// Program is the name of the program that holds the delegated commands.
const Program = "palyra-extra"

// ErrNotInstalled is wrapped by the error of a delegated command when
// palyra-extra is not beside palyra.
var ErrNotInstalled = errors.New(Program + " is not installed beside palyra")

// Command is a command that palyra-extra holds: its path below "palyra"
// (the key of clierr.Factory.Extra) and the Use and Short that the real
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

// Subcommands returns the subcommands of the delegated group c (none for a
// command that is not a group): the stub of the group (package stub) gets
// a stub of each, so both trees list the same commands. (A switch, not a
// map: palyra pays for every map built at package init.)
func (c Command) Subcommands() []Command {
	if c.Path == Members.Path {
		return []Command{MembersList, MembersAdd, MembersRemove}
	}
	return nil
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

// Exec runs palyra-extra with words and then args as its arguments, in
// place of this process where the system allows (Unix: the same process
// id, signals and exit status, which service managers rely on for "palyra
// daemon"), else as a child whose exit status becomes palyra's. It returns
// only on failure to start palyra-extra, with an error that says where it
// was looked for and how to install it; that error names the command only
// by words, or by a delegated command's path that args start with, never
// by an argument (which may be a secret typed in the wrong place).
func Exec(words, args []string) error {
	path, err := Path()
	if err != nil {
		return err
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return clierr.WithHints(fmt.Errorf("%s needs %s: %w (looked for %s)", commandName(words, args), Program, ErrNotInstalled, path),
			"install both programs in one directory: scripts/build.sh builds palyra and "+Program+" side by side (README, \"Using it\")")
	}
	argv := append(append([]string{Program}, words...), args...)
	err = execProgram(path, argv)
	var exit *clierr.ExitError
	if err != nil && !errors.As(err, &exit) {
		err = fmt.Errorf("running %s: %w", path, err)
	}
	return err
}

// commandName names the command words and args make for an error:
// "palyra <words>" when words are given, else the longest delegated
// command's path that args start with, else "this palyra command".
func commandName(words, args []string) string {
	if len(words) > 0 {
		return fmt.Sprintf("%q", "palyra "+strings.Join(words, " "))
	}
	best := ""
	for _, c := range []Command{Daemon, Export, Import, HostKey, Members, MembersList, MembersAdd, MembersRemove} {
		path := strings.Fields(c.Path)
		if len(path) <= len(args) && slices.Equal(path, args[:len(path)]) && len(c.Path) > len(best) {
			best = c.Path
		}
	}
	if best == "" {
		return "this palyra command"
	}
	return fmt.Sprintf("%q", "palyra "+best)
}
