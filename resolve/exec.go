package resolve

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"time"

	"github.com/palyra/palyra-vault/internal/readlimit"
	"github.com/palyra/palyra-vault/secret"
)

// waitDelay bounds how long Wait waits for the command to exit after it
// was killed, and how long a read of its output may outlive the deadline
// where a blocked read cannot be interrupted (Windows).
const waitDelay = 2 * time.Second

// resolveExec runs a command reference and returns its standard output:
//
//   - argv is run directly, never through a shell; argv[0] without a path
//     separator is looked up in this process's PATH;
//   - the environment is empty apart from the variables named in pass_env
//     (for the *_secret_ref form: DefaultInheritedEnv and inherited_env)
//     that this process has; naming a variable that carries key material
//     (secret.IsKeyMaterialEnv) is Blocked;
//   - standard input is empty (/dev/null) and standard error is discarded
//     unread: it may hold secrets, and it is never shown;
//   - the command runs in a process group of its own (Unix); when the
//     timeout expires, the output grows past max_bytes, or ctx is done, the
//     whole group is killed with SIGKILL;
//   - the timeout covers the output too: at the deadline the read end of
//     the output pipe is closed, so a process that left the group (setsid)
//     and still holds standard output cannot keep the caller waiting; it
//     gets EPIPE when it next writes;
//   - a non-zero exit status fails with kind IO and names only the status.
//
// Output is read into one buffer that is wiped whenever it grows and when
// the result is discarded.
func resolveExec(ctx context.Context, ref Ref) (secret.SensitiveBytes, error) {
	env := []string{} // non-nil: an empty environment, not an inherited one
	for _, name := range ref.envNames() {
		if secret.IsKeyMaterialEnv(name) {
			return secret.SensitiveBytes{}, keyMaterialBlocked(ref, name)
		}
		if v, ok := os.LookupEnv(name); ok {
			env = append(env, name+"="+v)
		}
	}
	dir := ""
	if ref.Dir != "" {
		var err error
		if dir, err = ref.localPath(ref.Dir); err != nil {
			return secret.SensitiveBytes{}, fail(IO, ref, "making the working directory absolute failed", err)
		}
	}

	runCtx, cancel := context.WithTimeout(ctx, ref.CommandTimeout())
	defer cancel()
	cmd := exec.CommandContext(runCtx, ref.Exec[0], ref.Exec[1:]...)
	cmd.Env = env
	cmd.Dir = dir
	cmd.WaitDelay = waitDelay
	setProcessGroup(cmd)
	// Our own pipe, not cmd.StdoutPipe: its read end must be closable at
	// the deadline while a read is blocked on it.
	stdout, w, err := os.Pipe()
	if err != nil {
		return secret.SensitiveBytes{}, fail(IO, ref, "creating the output pipe failed", err)
	}
	defer stdout.Close()
	cmd.Stdout = w
	err = cmd.Start()
	_ = w.Close() // the command holds its own copy
	if err != nil {
		return secret.SensitiveBytes{}, startError(ref, err)
	}

	out, readErr := readOutput(runCtx, stdout, ref.Limit()+int(trailingSlack(ref)))
	over := errors.Is(readErr, readlimit.ErrTooLarge)
	if over {
		cancel() // kills the process group through cmd.Cancel
	}
	waitErr := cmd.Wait()

	fail := func(k Kind, msg string, cause error) (secret.SensitiveBytes, error) {
		clear(out)
		return secret.SensitiveBytes{}, fail(k, ref, msg, cause)
	}
	switch {
	case over:
		return fail(TooLarge, fmt.Sprintf("the command wrote more than max_bytes (%d) to standard output; it was killed", ref.Limit()), nil)
	case ctx.Err() != nil:
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fail(Timeout, "the caller's deadline expired while the command ran; it was killed", ctx.Err())
		}
		return fail(IO, "the caller canceled the command; it was killed", ctx.Err())
	case runCtx.Err() != nil:
		return fail(Timeout, "the command did not finish, or did not close its output, within "+ref.CommandTimeout().String()+"; it was killed", runCtx.Err())
	}
	var ee *exec.ExitError
	if errors.As(waitErr, &ee) {
		// ProcessState.String is "exit status N" or "signal: killed": no
		// output, no argv.
		return fail(IO, "the command failed: "+ee.ProcessState.String()+" (its standard error is not shown)", waitErr)
	}
	if waitErr != nil {
		return fail(IO, "waiting for the command failed", waitErr)
	}
	if readErr != nil {
		return fail(IO, "reading the command's output failed", readErr)
	}
	return secret.NewSensitiveBytes(out), nil
}

// startError describes why a command could not start, without its argv.
func startError(ref Ref, err error) *Error {
	msg := "starting the command failed"
	var pe *fs.PathError
	switch {
	case errors.Is(err, exec.ErrNotFound):
		msg += ": executable not found"
	case errors.Is(err, exec.ErrDot):
		msg += ": executable found only relative to the current directory"
	case errors.As(err, &pe):
		msg += ": " + pe.Op + ": " + pe.Err.Error()
	}
	return fail(IO, ref, msg, err)
}

// readResult is what the reader of a command's output found.
type readResult struct {
	out []byte
	err error
}

// readOutput reads r to its end, at most limit bytes, until ctx is done.
// At that point the pending read is interrupted (a read deadline where the
// pipe supports one, else by closing r) and it fails with ctx's error; a
// read that still does not return within waitDelay is abandoned, and its
// goroutine wipes what it read when it ends.
func readOutput(ctx context.Context, r *os.File, limit int) ([]byte, error) {
	done := make(chan readResult, 1)
	go func() {
		out, err := readlimit.ReadAll(r, limit, 0)
		done <- readResult{out, err}
	}()
	select {
	case res := <-done:
		return res.out, res.err
	case <-ctx.Done():
	}
	if r.SetReadDeadline(time.Now()) != nil {
		_ = r.Close()
	}
	select {
	case res := <-done:
		clear(res.out)
	case <-time.After(waitDelay):
		go func() { res := <-done; clear(res.out) }()
	}
	return nil, ctx.Err()
}

// DefaultInheritedEnv returns the variables a command of a *_secret_ref
// reference gets besides its inherited_env, as Palyra's resolver gives
// them: PATH, HOME, LANG, LC_ALL, LC_CTYPE and TMPDIR (on Windows PATH,
// PATHEXT, SYSTEMROOT, WINDIR, COMSPEC, TEMP and TMP). A command of the
// inline form gets none: only its pass_env.
func DefaultInheritedEnv() []string {
	if runtime.GOOS == "windows" {
		return []string{"PATH", "PATHEXT", "SYSTEMROOT", "WINDIR", "COMSPEC", "TEMP", "TMP"}
	}
	return []string{"PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR"}
}

// envNames returns the names of the variables the command of ref gets,
// each once.
func (r Ref) envNames() []string {
	if r.Form != FormSecretRef {
		return r.PassEnv
	}
	var names []string
	for _, n := range append(DefaultInheritedEnv(), r.PassEnv...) {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names
}
