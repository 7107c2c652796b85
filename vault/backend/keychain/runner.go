package keychain

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault/backend"
)

// maxOutput bounds what one run of security may print on stdout (dump-keychain
// of a large keychain is the biggest); stderr is kept to maxStderr.
const (
	maxOutput = 64 << 20
	maxStderr = 64 << 10
)

// runner runs the security executable at path. It is the only code that
// starts processes; everything it is given was built by the pure functions
// in protocol.go.
type runner struct {
	path    string
	timeout time.Duration
}

// result is what one run of security produced.
type result struct {
	stdout, stderr []byte
	code           int // exit status; 0 is success
}

// errOutputTooLarge is returned by cappedBuffer past its limit.
var errOutputTooLarge = errors.New("output too large")

// cappedBuffer is a bytes.Buffer that refuses to grow past max.
type cappedBuffer struct {
	bytes.Buffer
	max int
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	if c.Len()+len(p) > c.max {
		return 0, errOutputTooLarge
	}
	return c.Buffer.Write(p)
}

// run starts security with args, writes stdin (if not nil) to it, and waits
// at most r.timeout or until ctx is done. A non-zero exit status is not an
// error: it is in result.code. The error is for a run that did not complete:
// the executable is missing (wraps backend.ErrUnavailable), the time ran
// out (wraps backend.ErrUnavailable, or ctx's error when ctx ended first),
// or the output was too large. Errors never contain stdin or stdout.
func (r runner) run(ctx context.Context, stdin []byte, args ...string) (result, error) {
	runCtx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	cmd := exec.CommandContext(runCtx, r.path, args...)
	cmd.WaitDelay = time.Second
	cmd.Env = secret.WithoutKeyMaterial(os.Environ()) // security needs none of palyra's passphrases
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	stdout := &cappedBuffer{max: maxOutput}
	stderr := &cappedBuffer{max: maxStderr}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err := cmd.Run()
	res := result{stdout: stdout.Bytes(), stderr: stderr.Bytes()}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return res, nil
	case ctx.Err() != nil:
		return res, fmt.Errorf("running %s %s: %w", r.path, args[0], ctx.Err())
	case runCtx.Err() != nil:
		return res, fmt.Errorf("running %s %s: no answer within %s (is a keychain dialog waiting?): %w", r.path, args[0], r.timeout, backend.ErrUnavailable)
	case errors.Is(err, errOutputTooLarge):
		return res, fmt.Errorf("running %s %s: printed more than %d bytes", r.path, args[0], maxOutput)
	case errors.As(err, &exitErr) && exitErr.Exited():
		res.code = exitErr.ExitCode()
		return res, nil
	case errors.As(err, &exitErr):
		return res, fmt.Errorf("running %s %s: %s", r.path, args[0], exitErr.ProcessState)
	default:
		return res, fmt.Errorf("running %s: %w: %w", r.path, backend.ErrUnavailable, err)
	}
}

// describeStderr renders what security printed on stderr for an error
// message: at most 300 bytes, quoted, with every occurrence of each of
// redact replaced by "[redacted]".
func describeStderr(stderr []byte, redact ...string) string {
	s := strings.TrimSpace(string(stderr))
	for _, r := range redact {
		if r != "" {
			s = strings.ReplaceAll(s, r, "[redacted]")
		}
	}
	if s == "" {
		return "no message"
	}
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return fmt.Sprintf("%q", s)
}
