//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package runrun

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
)

// execute runs the command with env and returns its exit status. secrets
// are the values to mask (none: no masking). On this system the command
// always gets pipes (no pseudo-terminal), and signals are not forwarded:
// Ctrl-C reaches every process on the console, the command included, so
// palyra only ignores it and waits for the command.
func execute(ctx context.Context, opts *Options, env []string, secrets [][]byte) (int, error) {
	cmd, err := newCommand(opts, env)
	if err != nil {
		return 0, err
	}
	var out outputs
	defer out.finish()
	toClose, err := connect(cmd, opts, &out, secrets)
	if err != nil {
		closeAll(toClose...)
		return 0, fmt.Errorf("connecting the command's output: %w", err)
	}
	sigCh := make(chan os.Signal, 1)
	signal.Notify(sigCh, os.Interrupt)
	defer signal.Stop(sigCh)

	err = cmd.Start()
	closeAll(toClose...)
	if err != nil {
		return 0, startError(opts.Command[0], err)
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) && !errors.Is(err, exec.ErrWaitDelay) {
		return 0, fmt.Errorf("waiting for %q: %w", opts.Command[0], err)
	}
	return cmd.ProcessState.ExitCode(), nil
}
