package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/palyra/palyra-vault/vault/backend"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// How Watch follows the cluster. The etcd client retries a watch stream
// silently, forever, while no member answers, so a watch alone never says
// that the cluster is gone: a probe (a linearizable read of one key, which
// needs a quorum) runs every probeEvery with a deadline of probeTimeout,
// and when none has succeeded for lostAfter the watch reports EventLost.
// It then probes again after a backoff that doubles from backoffMin up to
// backoffMax, each wait drawn at random from its upper half (jitter, so
// that a fleet coming back does not probe in step).
const (
	probeEvery   = 500 * time.Millisecond
	probeTimeout = time.Second
	lostAfter    = 1500 * time.Millisecond
	backoffMin   = 250 * time.Millisecond
	backoffMax   = 4 * time.Second
)

// Watch follows every change under the vault's prefix after revision from
// (0: from now) until ctx is done, reporting each to fn from this
// goroutine, in revision order (backend.Watcher).
//
// An object's change is reported from its header key (written in the same
// transaction as the envelope), whose value holds the envelope header; a
// delete is reported from the header key's previous value (the watch asks
// for it). The lock keys are not reported. The watch requires a leader:
// a member cut off from its quorum ends it, and it starts again through
// another member. When the revision it stands at was compacted away, it
// reports EventResync and follows from the current revision. Watching
// from now (from 0), the first report is EventResync naming the revision
// it follows from (or EventLost, when no member answers), so a caller that
// read the store before calling Watch knows when to read it again to miss
// nothing. Reaching no
// member is reported as EventLost within about 2 s; once a member answers
// again, EventResync, and the watch follows from then on: the changes
// made meanwhile are not reported one by one.
func (s *Store) Watch(ctx context.Context, from int64, fn func(backend.Event)) error {
	w := &watchLoop{s: s, fn: fn, rev: from, lastOK: time.Now(), started: from != 0}
	return w.run(ctx)
}

// watchLoop is the state of one Watch.
type watchLoop struct {
	s  *Store
	fn func(backend.Event)
	// rev is the revision up to which every change was reported.
	rev int64
	// started says rev is known (the first probe succeeded, or the caller
	// gave it).
	started bool
	// lastOK is when a probe last succeeded.
	lastOK time.Time
	// lost says EventLost was reported and EventResync is due.
	lost bool
	// resync, when not "", is the reason of an EventResync due at the next
	// successful probe (after a compaction).
	resync string
	// failures counts the probes or watches that failed in a row, for the
	// backoff.
	failures int
}

// errCompacted is a session's end when its start revision was compacted.
type errCompacted struct{ from, compacted int64 }

func (e errCompacted) Error() string {
	return fmt.Sprintf("revision %d was compacted (the cluster keeps history from revision %d)", e.from, e.compacted)
}

// errLost is a session's end when no probe succeeded for lostAfter.
type errLost struct{ err error }

func (e errLost) Error() string { return e.err.Error() }

func (w *watchLoop) run(ctx context.Context) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		rev, err := w.s.probe(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			w.probeFailed(err)
			if err := w.sleep(ctx); err != nil {
				return err
			}
			continue
		}
		w.lastOK = time.Now()
		switch {
		case w.lost:
			w.rev, w.lost = rev, false
			w.fn(backend.Event{Kind: backend.EventResync, Revision: rev,
				Reason: fmt.Sprintf("etcd at %s answers again; following from revision %d", w.s.endpoints(), rev)})
		case w.resync != "":
			w.rev = rev
			w.fn(backend.Event{Kind: backend.EventResync, Revision: rev, Reason: w.resync + fmt.Sprintf("; following from revision %d", rev)})
			w.resync = ""
		case !w.started:
			w.rev = rev
			w.fn(backend.Event{Kind: backend.EventResync, Revision: rev,
				Reason: fmt.Sprintf("watching etcd at %s from revision %d", w.s.endpoints(), rev)})
		}
		w.started = true
		began := time.Now()
		err = w.session(ctx)
		var lost errLost
		var compacted errCompacted
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.As(err, &compacted):
			w.resync = compacted.Error()
			w.failures = 0
			continue // at once: the cluster answers
		case errors.As(err, &lost):
			w.reportLost(lost.err)
		case time.Since(began) > backoffMax:
			w.failures = 0 // the session ran well for a while: a new problem
		}
		if err := w.sleep(ctx); err != nil {
			return err
		}
	}
}

// probeFailed counts a failed probe and reports EventLost once none has
// succeeded for lostAfter.
func (w *watchLoop) probeFailed(err error) {
	if time.Since(w.lastOK) >= lostAfter {
		w.reportLost(err)
	}
}

// reportLost reports EventLost, once per loss.
func (w *watchLoop) reportLost(err error) {
	if w.lost {
		return
	}
	w.lost, w.resync = true, ""
	w.fn(backend.Event{Kind: backend.EventLost, Since: w.lastOK, Revision: w.rev,
		Reason: fmt.Sprintf("etcd at %s has not answered since %s: %s", w.s.endpoints(), w.lastOK.Format(time.RFC3339), oneLine(err))})
}

// sleep waits the next backoff, or until ctx is done.
func (w *watchLoop) sleep(ctx context.Context) error {
	d := backoff(w.failures)
	w.failures++
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// backoff returns the wait after n failures in a row: backoffMin doubled
// n times, at most backoffMax, drawn at random from its upper half.
func backoff(n int) time.Duration {
	d := backoffMax
	if n < 16 {
		d = min(backoffMin<<n, backoffMax)
	}
	return d/2 + rand.N(d/2+1)
}

// session watches from w.rev+1 until the watch ends or the probes say the
// cluster is lost, reporting events as they come. It returns errCompacted,
// errLost, ctx's error, or why the watch ended.
func (w *watchLoop) session(ctx context.Context) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The client's Watch returns only once the stream is open, which may
	// be never: open it aside, and probe meanwhile.
	opened := make(chan clientv3.WatchChan, 1)
	go func() {
		opened <- w.s.cli.Watch(clientv3.WithRequireLeader(sctx), w.s.opts.Prefix,
			clientv3.WithPrefix(), clientv3.WithRev(w.rev+1), clientv3.WithPrevKV())
	}()
	var wch clientv3.WatchChan // nil, so never ready, until opened
	probes := make(chan error, 1)
	go func() {
		t := time.NewTicker(probeEvery)
		defer t.Stop()
		for {
			select {
			case <-sctx.Done():
				return
			case <-t.C:
			}
			_, err := w.s.probe(sctx)
			select {
			case probes <- err:
			case <-sctx.Done():
				return
			}
		}
	}()
	check := time.NewTicker(lostAfter / 8)
	defer check.Stop()
	var probeErr error // the last probe's, nil after a success
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-probes:
			probeErr = err
			if err == nil {
				w.lastOK = time.Now()
			}
		case <-check.C:
			// A probe that hangs is a failure too: the cluster did not
			// answer, whenever the probe's own deadline ends.
			if time.Since(w.lastOK) >= lostAfter {
				if probeErr == nil {
					probeErr = fmt.Errorf("no read answered within %s", lostAfter)
				}
				return errLost{probeErr}
			}
		case wch = <-opened:
		case resp, ok := <-wch:
			if !ok {
				return errors.New("the watch stream closed")
			}
			if resp.CompactRevision != 0 {
				return errCompacted{from: w.rev + 1, compacted: resp.CompactRevision}
			}
			if err := resp.Err(); err != nil {
				return w.s.fail("watching", err)
			}
			for _, ev := range resp.Events {
				w.deliver(ev)
			}
			if n := len(resp.Events); n > 0 {
				w.rev = max(w.rev, resp.Events[n-1].Kv.ModRevision)
			} else if resp.IsProgressNotify() {
				w.rev = max(w.rev, resp.Header.Revision)
			}
			w.lastOK = time.Now()
			w.failures = 0
		}
	}
}

// deliver reports one etcd event under the prefix, if it is one a
// watcher of the vault wants.
func (w *watchLoop) deliver(ev *clientv3.Event) {
	key := strings.TrimPrefix(string(ev.Kv.Key), w.s.opts.Prefix)
	deleted := ev.Type == mvccpb.DELETE
	rev := ev.Kv.ModRevision
	switch {
	case strings.HasPrefix(key, hdrDir):
		id := backend.ObjectID(strings.TrimPrefix(key, hdrDir))
		if !id.Valid() {
			return
		}
		v := ev.Kv.Value
		if deleted {
			v = nil
			if ev.PrevKv != nil {
				v = ev.PrevKv.Value
			}
		}
		var header []byte
		if _, p, ok := parseHeaderRecord(v); ok {
			header = append([]byte{}, p...)
		}
		w.fn(backend.Event{Kind: backend.EventObject, ID: id, Header: header, Deleted: deleted, Revision: rev})
	case strings.HasPrefix(key, metaDir):
		name := strings.TrimPrefix(key, metaDir)
		if checkRecordName(name) != nil {
			return
		}
		w.fn(backend.Event{Kind: backend.EventRecord, Record: name, Deleted: deleted, Revision: rev})
	}
}

// probe reads the vault id record's count, a linearizable read that needs
// a quorum, within probeTimeout, and returns the cluster's revision.
func (s *Store) probe(ctx context.Context) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	resp, err := s.cli.Get(ctx, s.metaKey(backend.RecordVaultID), clientv3.WithCountOnly())
	if err != nil {
		return 0, fmt.Errorf("a read with a deadline of %s failed: %w", probeTimeout, err)
	}
	return resp.Header.Revision, nil
}

// endpoints names the store's endpoints, for a reason.
func (s *Store) endpoints() string { return strings.Join(s.opts.Endpoints, ",") }

// oneLine keeps the first line of err's text.
func oneLine(err error) string {
	line, _, _ := strings.Cut(err.Error(), "\n")
	return line
}
