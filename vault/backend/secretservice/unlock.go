package secretservice

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/godbus/dbus/v5"
)

// withUnlock runs fn; if it fails because the default collection is
// locked, it unlocks the collection once (unless Options.NoUnlock) and runs
// fn again. A second locked failure is returned as it is (ErrLocked).
func (s *Store) withUnlock(ctx context.Context, op string, fn func() error) error {
	err := fn()
	if err == nil || !errors.Is(err, ErrLocked) || s.opts.NoUnlock {
		return err
	}
	if err := s.unlock(ctx, op); err != nil {
		return err
	}
	return fn()
}

// unlock asks the service to unlock the default collection. The service
// may answer with a prompt (a password dialog on the user's desktop); a
// prompt that is dismissed, or does not complete within PromptTimeout,
// fails with ErrPromptDismissed. One unlock runs at a time, and a
// collection another goroutine unlocked meanwhile is left alone.
func (s *Store) unlock(ctx context.Context, op string) error {
	return s.unlockCollection(ctx, op, true)
}

// unlockCollection asks the service to unlock the default collection when
// it is locked. A prompt the service asks for is shown when allowPrompt,
// else dismissed unseen, and the collection counts as locked (an error
// wrapping ErrLocked and errNeedsPrompt).
func (s *Store) unlockCollection(ctx context.Context, op string, allowPrompt bool) error {
	s.unlockMu.Lock()
	defer s.unlockMu.Unlock()
	locked, err := s.collectionLocked(ctx, op)
	if err != nil || !locked {
		return err
	}
	var unlocked []dbus.ObjectPath
	var prompt dbus.ObjectPath
	if err := s.call(ctx, s.service, methodUnlock, []dbus.ObjectPath{s.collection}).Store(&unlocked, &prompt); err != nil {
		return s.classify(op, err)
	}
	if prompt != noPrompt {
		if !allowPrompt {
			s.dismiss(ctx, prompt)
			return newError(op, ErrLocked, errNeedsPrompt)
		}
		result, err := s.runPrompt(ctx, op, prompt)
		if err != nil {
			return err
		}
		unlocked, _ = result.Value().([]dbus.ObjectPath)
	}
	if !slices.Contains(unlocked, s.collection) {
		return newError(op, ErrLocked, fmt.Errorf("service did not unlock %s", s.collection))
	}
	return nil
}

// runPrompt shows prompt and waits for its Completed signal, at most
// PromptTimeout (and ctx). It returns the prompt's result, or an error
// wrapping ErrPromptDismissed when the prompt was dismissed or timed out;
// on timeout or any other failure it asks the service to dismiss the prompt.
func (s *Store) runPrompt(ctx context.Context, op string, prompt dbus.ObjectPath) (dbus.Variant, error) {
	pctx, cancel := context.WithTimeout(ctx, s.opts.PromptTimeout)
	defer cancel()
	// Cleanup calls must run even when pctx has expired.
	cleanupCtx := context.WithoutCancel(ctx)
	completed := false
	defer func() {
		if !completed {
			// Best effort: leave no dialog behind on the user's desktop.
			_ = s.call(cleanupCtx, s.conn.Object(serviceName, prompt), methodPromptDismiss).Err
		}
	}()

	signals := make(chan *dbus.Signal, 4)
	s.conn.Signal(signals)
	defer s.conn.RemoveSignal(signals)
	match := []dbus.MatchOption{
		dbus.WithMatchObjectPath(prompt),
		dbus.WithMatchInterface(ifacePrompt),
		dbus.WithMatchMember(signalCompleted),
	}
	if err := s.withCallTimeout(pctx, func(c context.Context) error { return s.conn.AddMatchSignalContext(c, match...) }); err != nil {
		return dbus.Variant{}, s.promptError(op, err)
	}
	defer func() {
		_ = s.withCallTimeout(cleanupCtx, func(c context.Context) error { return s.conn.RemoveMatchSignalContext(c, match...) })
	}()

	// The window id is empty: we have no window to parent the dialog to.
	if err := s.call(pctx, s.conn.Object(serviceName, prompt), methodPrompt, "").Err; err != nil {
		return dbus.Variant{}, s.promptError(op, err)
	}
	for {
		select {
		case sig, ok := <-signals:
			if !ok {
				return dbus.Variant{}, newError(op, ErrNoService, errors.New("bus connection closed while waiting for prompt"))
			}
			if sig.Path != prompt || sig.Name != ifacePrompt+"."+signalCompleted {
				continue
			}
			completed = true
			var dismissed bool
			var result dbus.Variant
			if err := dbus.Store(sig.Body, &dismissed, &result); err != nil {
				return dbus.Variant{}, newError(op, ErrFailed, fmt.Errorf("prompt Completed signal: %w", err))
			}
			if dismissed {
				return dbus.Variant{}, newError(op, ErrPromptDismissed, nil)
			}
			return result, nil
		case <-pctx.Done():
			return dbus.Variant{}, s.promptError(op, pctx.Err())
		}
	}
}

// promptError reports a failure while showing or awaiting a prompt: a
// timeout is a dismissed prompt, other failures are classified as usual.
func (s *Store) promptError(op string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return newError(op, ErrPromptDismissed, fmt.Errorf("prompt did not complete within %s: %w", s.opts.PromptTimeout, err))
	}
	return s.classify(op, err)
}

// withCallTimeout runs f with ctx bounded by CallTimeout.
func (s *Store) withCallTimeout(ctx context.Context, f func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.CallTimeout)
	defer cancel()
	return f(ctx)
}
