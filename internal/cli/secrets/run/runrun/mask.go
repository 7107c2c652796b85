package runrun

import (
	"bytes"
	"io"
	"slices"
	"sync"
	"time"
)

// DefaultHold is how long a masker keeps back output that could be the
// start of a secret while no more output arrives. Longer protects a secret
// that a child writes in slow pieces; shorter keeps prompts and typed
// echoes snappy. 150 ms is below what people notice when typing.
const DefaultHold = 150 * time.Millisecond

// masker is a writer that replaces every occurrence of any of its secrets
// in the stream written to it by a marker, before passing the stream on.
//
// A secret may arrive split across writes (a pipe or a pseudo-terminal
// returns whatever is ready), so the masker keeps back the longest tail of
// the stream that is the beginning of some secret, and decides when the
// next bytes arrive. Everything that cannot be the start of a secret is
// passed on at once. Matches are leftmost-longest: when secrets overlap or
// one contains another, the occurrence that starts first wins, and of
// those the longest.
//
// Kept-back bytes are never held indefinitely: when no more output comes
// for the hold time, they are passed on as they are (they were not a
// secret, or only a part of one: a program that writes a secret in pieces
// slower than the hold time shows those pieces). Close passes them on at
// once.
//
// The masker holds copies of the secrets and of kept-back output; Close
// wipes them. It is safe for concurrent use: writes, the hold timer and
// Close are serialised.
type masker struct {
	mu      sync.Mutex
	w       io.Writer
	secrets [][]byte // non-empty, distinct, longest first
	fail    [][]int  // KMP failure function of each secret
	marker  []byte
	pend    []byte // output kept back: the tail that may start a secret
	hold    time.Duration
	timer   *time.Timer
	closed  bool
	err     error // first error writing to w
	out     bytes.Buffer
}

// newMasker returns a masker writing to w that replaces each of secrets
// (empty ones are ignored) with marker, keeping back a possible start of a
// secret for at most hold when no more output arrives (0 means forever,
// for tests). The secrets are copied.
func newMasker(w io.Writer, secrets [][]byte, marker string, hold time.Duration) *masker {
	m := &masker{w: w, marker: []byte(marker), hold: hold}
	for _, s := range secrets {
		if len(s) == 0 || slices.ContainsFunc(m.secrets, func(e []byte) bool { return bytes.Equal(e, s) }) {
			continue
		}
		m.secrets = append(m.secrets, bytes.Clone(s))
	}
	// Longest first, so that at equal start positions the longest wins.
	for i := 1; i < len(m.secrets); i++ {
		for j := i; j > 0 && len(m.secrets[j]) > len(m.secrets[j-1]); j-- {
			m.secrets[j], m.secrets[j-1] = m.secrets[j-1], m.secrets[j]
		}
	}
	m.fail = make([][]int, len(m.secrets))
	for i, s := range m.secrets {
		m.fail[i] = failure(s)
	}
	return m
}

// failure returns the KMP failure function of s: f[j] is the length of the
// longest proper prefix of s[:j+1] that is also its suffix.
func failure(s []byte) []int {
	f := make([]int, len(s))
	k := 0
	for j := 1; j < len(s); j++ {
		for k > 0 && s[j] != s[k] {
			k = f[k-1]
		}
		if s[j] == s[k] {
			k++
		}
		f[j] = k
	}
	return f
}

// Write masks p and passes on everything that cannot be the start of a
// secret. It reports len(p) unless writing to the destination failed; after
// such a failure it keeps accepting (and discarding) output, so that the
// child is never blocked on a full pipe.
func (m *masker) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, io.ErrClosedPipe
	}
	m.pend = append(m.pend, p...)
	m.process(false)
	if len(m.pend) > 0 && m.hold > 0 {
		if m.timer == nil {
			m.timer = time.AfterFunc(m.hold, m.holdExpired)
		} else {
			m.timer.Reset(m.hold)
		}
	}
	return len(p), m.err
}

func (m *masker) holdExpired() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.closed {
		m.process(true)
	}
}

// Close flushes, stops the hold timer and wipes the masker's copies of
// the secrets. Later writes fail.
func (m *masker) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return m.err
	}
	m.process(true)
	m.closed = true
	if m.timer != nil {
		m.timer.Stop()
	}
	for _, s := range m.secrets {
		clear(s)
	}
	clear(m.pend[:cap(m.pend)])
	clear(m.out.Bytes())
	return m.err
}

// process masks m.pend and writes out what is decided. Unless final, the
// longest tail that may still grow into a secret is kept in m.pend.
func (m *masker) process(final bool) {
	buf := m.pend
	i := 0
	for i < len(buf) {
		rest := buf[i:]
		start, n := m.leftmost(rest)
		keep := 0
		if !final {
			keep = m.partialSuffix(rest)
		}
		decided := len(rest) - keep
		if start >= 0 && start < decided {
			// A complete secret starts before anything undecided: nothing
			// still pending can start earlier, or be longer at this start.
			m.out.Write(rest[:start])
			m.out.Write(m.marker)
			i += start + n
			continue
		}
		m.out.Write(rest[:decided])
		i += decided
		break
	}
	left := copy(buf, buf[i:])
	clear(buf[left:])
	m.pend = buf[:left]
	if m.out.Len() > 0 {
		if m.err == nil {
			_, m.err = m.w.Write(m.out.Bytes())
		}
		clear(m.out.Bytes())
		m.out.Reset()
	}
}

// leftmost returns where the leftmost-longest complete secret in b starts
// and its length, or -1.
func (m *masker) leftmost(b []byte) (start, n int) {
	start = -1
	for _, s := range m.secrets {
		limit := b
		if start >= 0 {
			// Only an earlier start can win; secrets come longest first.
			limit = b[:min(len(b), start+len(s)-1)]
		}
		if j := bytes.Index(limit, s); j >= 0 && (start < 0 || j < start) {
			start, n = j, len(s)
		}
	}
	return start, n
}

// partialSuffix returns the length of the longest tail of b that is a
// proper prefix of some secret: output that must wait for more bytes.
func (m *masker) partialSuffix(b []byte) int {
	longest := 0
	for k, s := range m.secrets {
		if len(s) <= 1 || len(s)-1 <= longest {
			continue
		}
		window := b[max(0, len(b)-(len(s)-1)):]
		q := 0
		for _, c := range window {
			for q > 0 && s[q] != c {
				q = m.fail[k][q-1]
			}
			if s[q] == c {
				q++
			}
			if q == len(s) { // cannot happen: the window is shorter than s
				q = m.fail[k][q-1]
			}
		}
		longest = max(longest, q)
	}
	return longest
}
