package runrun

import (
	"io"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/palyra/palyra-vault/secret"
)

// drainDelay bounds how long palyra keeps reading the command's output
// after the command exited: a background process it started may hold the
// output open. Then the output is closed (such a process gets EPIPE).
const drainDelay = 2 * time.Second

// outputs reads the command's output streams through maskers.
type outputs struct {
	maskers []*masker
	readers []io.Closer
	wg      sync.WaitGroup
	once    sync.Once
}

// add starts copying r through a masker into dst.
func (o *outputs) add(r io.ReadCloser, dst io.Writer, secrets [][]byte, hold time.Duration) {
	m := newMasker(dst, secrets, secret.Redacted, hold)
	o.maskers = append(o.maskers, m)
	o.readers = append(o.readers, r)
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		buf := make([]byte, 32<<10)
		defer clear(buf)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				_, _ = m.Write(buf[:n]) // a broken destination: keep draining
			}
			if err != nil {
				return
			}
		}
	}()
}

// pipe returns the write end of a new pipe whose read end is copied
// through a masker into dst; the caller gives it to the command and closes
// it after Start.
func (o *outputs) pipe(dst io.Writer, secrets [][]byte, hold time.Duration) (*os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	o.add(r, dst, secrets, hold)
	return w, nil
}

// finish waits until every stream reached its end, at most drainDelay,
// then closes the streams and the maskers (which flushes and wipes them).
// Later calls do nothing.
func (o *outputs) finish() { o.once.Do(o.drain) }

func (o *outputs) drain() {
	done := make(chan struct{})
	go func() { o.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(drainDelay):
		for _, r := range o.readers {
			_ = r.Close()
		}
		<-done
	}
	for _, r := range o.readers {
		_ = r.Close()
	}
	for _, m := range o.maskers {
		_ = m.Close()
	}
}

// closeAll closes files, ignoring errors.
func closeAll(files ...*os.File) {
	for _, f := range files {
		if f != nil {
			_ = f.Close()
		}
	}
}

// newCommand builds the command with env, after finding the program.
func newCommand(opts *Options, env []string) (*exec.Cmd, error) {
	path, err := lookPath(opts.Command[0])
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, opts.Command[1:]...)
	cmd.Args[0] = opts.Command[0]
	cmd.Env = env
	cmd.WaitDelay = drainDelay
	return cmd, nil
}

// connect gives the command palyra's streams: directly without secrets to
// mask, else stdout and stderr through maskers on pipes. It returns the
// pipe ends to close after Start.
func connect(cmd *exec.Cmd, opts *Options, out *outputs, secrets [][]byte) ([]*os.File, error) {
	cmd.Stdin = opts.IO.In
	if len(secrets) == 0 {
		cmd.Stdout, cmd.Stderr = opts.IO.Out, opts.IO.ErrOut
		return nil, nil
	}
	w1, err := out.pipe(opts.IO.Out, secrets, opts.hold())
	if err != nil {
		return nil, err
	}
	w2, err := out.pipe(opts.IO.ErrOut, secrets, opts.hold())
	if err != nil {
		closeAll(w1)
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = w1, w2
	return []*os.File{w1, w2}, nil
}

func (opts *Options) hold() time.Duration {
	if opts.Hold > 0 {
		return opts.Hold
	}
	return DefaultHold
}

// toCRLF returns s with each "\n" not preceded by "\r" turned into "\r\n",
// or nil when s has no such "\n".
func toCRLF(s []byte) []byte {
	var out []byte
	changed := false
	for i, c := range s {
		if c == '\n' && (i == 0 || s[i-1] != '\r') {
			out = append(out, '\r')
			changed = true
		}
		out = append(out, c)
	}
	if !changed {
		return nil
	}
	return out
}
