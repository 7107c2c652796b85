package clitest

import (
	"io"

	"github.com/spf13/cobra"
)

// Execute runs cmd with args as a test of its flag and argument parsing:
// cobra's own output is discarded, and the error is returned as the
// command's RunE (or cobra) produced it.
func Execute(cmd *cobra.Command, args ...string) error {
	cmd.SetArgs(args)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	return cmd.Execute()
}
