// Package cli is palyra's cobra command tree, which palyra-extra runs
// (MainWith): it builds the tree with injected streams, runs it, and ends
// with report.Finish, which prints any error in palyra's format and
// decides the exit code, as palyra's own front (package lean) does for the
// command lines it serves.
//
// UI rules (docs/CLI.md has the full list): results go to stdout and
// nothing else does; errors, hints and warnings go to stderr prefixed with
// "palyra: ", one hint per line; prompts go to the terminal; a secret value
// is printed only by "get --reveal" and never appears in an error.
package cli

import (
	"context"
	"os"

	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/palyra/palyra-vault/internal/cli/report"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/spf13/cobra"
)

// Exit codes of the palyra command (package report decides them).
const (
	ExitOK          = report.ExitOK
	ExitError       = report.ExitError
	ExitUsage       = report.ExitUsage
	ExitNotFound    = report.ExitNotFound
	ExitUnreachable = report.ExitUnreachable
	ExitInterrupted = report.ExitInterrupted
)

// MainWith runs the cobra tree on the process's arguments and streams and
// returns the exit code, with the commands in extra built for real
// (cmdutil.Factory.Extra): palyra-extra passes them. (palyra itself runs
// package lean.)
func MainWith(extra map[string]func(*cmdutil.Factory) *cobra.Command) int {
	return RunWith(context.Background(), iostreams.System(), os.Args[1:], extra)
}

// Run runs palyra with args (without the program name) on ios and returns
// the exit code. It never calls os.Exit, so tests run it in-process.
func Run(ctx context.Context, ios *iostreams.IOStreams, args []string) int {
	return RunWith(ctx, ios, args, nil)
}

// RunWith is Run with the commands in extra built for real (MainWith).
func RunWith(ctx context.Context, ios *iostreams.IOStreams, args []string, extra map[string]func(*cmdutil.Factory) *cobra.Command) int {
	return runWith(ctx, ios, args, extra, newCmdRootFor)
}

// runWith is RunWith with the function that builds the command tree for args.
func runWith(ctx context.Context, ios *iostreams.IOStreams, args []string, extra map[string]func(*cmdutil.Factory) *cobra.Command, build func(*cmdutil.Factory, []string) *cobra.Command) int {
	f := cmdutil.NewFactory(ios)
	f.Extra = extra
	f.Args = args
	root := build(f, args)
	root.SetFlagErrorFunc(flagErrorFor(args))
	root.SetArgs(args)
	root.SetIn(ios.In)
	root.SetOut(ios.Out)
	root.SetErr(ios.ErrOut)

	cmd, err := root.ExecuteContextC(ctx)
	path := ""
	if cmd != nil {
		path = cmd.CommandPath()
	}
	return report.Finish(ios.ErrOut, f, path, err)
}
