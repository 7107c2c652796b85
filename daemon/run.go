package daemon

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"slices"
)

// Run starts the daemon and serves until ctx is done or a stop signal
// (SIGTERM, SIGINT) arrives; a reload signal (SIGHUP) calls Reload. Signals
// are caught from the moment Run is called: a stop signal during start-up
// cancels it, a reload signal during start-up reloads once it is up. It
// returns nil after a clean shutdown (every held value wiped), or the error
// that kept the daemon from starting or serving.
//
// Run also changes process-wide settings that Start, a library call, leaves
// alone: on Linux the process becomes non-dumpable (no core dumps; ptrace
// and /proc/<pid>/mem for root only), elsewhere its core size limit is 0.
func Run(ctx context.Context, opts Options) error {
	if err := harden(); err != nil {
		log := opts.Logger
		if log == nil {
			log = slog.Default()
		}
		log.Warn("could not keep held values out of core dumps", "err", err)
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, append(slices.Clone(stopSignals), reloadSignals...)...)
	defer signal.Stop(sigs)

	startCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	type started struct {
		d   *Daemon
		err error
	}
	ready := make(chan started, 1)
	go func() {
		d, err := Start(startCtx, opts)
		ready <- started{d, err}
	}()
	pendingReload, stopped := false, false
	var d *Daemon
	for d == nil {
		select {
		case s := <-ready:
			if s.err != nil {
				return s.err
			}
			d = s.d
		case sig := <-sigs:
			if slices.Contains(reloadSignals, sig) {
				pendingReload = true
			} else {
				stopped = true
				cancel() // Start fails with the context's error, or finishes
			}
		}
	}

	served := make(chan error, 1)
	go func() { served <- d.Serve() }()
	if pendingReload && !stopped {
		_ = d.Reload(ctx) // logs its own failure
	}
	var serveErr error
loop:
	for !stopped {
		select {
		case sig := <-sigs:
			if slices.Contains(reloadSignals, sig) {
				d.log.Info("reloading", "signal", sig.String())
				_ = d.Reload(ctx)
				continue
			}
			d.log.Info("shutting down", "signal", sig.String())
			break loop
		case <-ctx.Done():
			d.log.Info("shutting down", "reason", context.Cause(ctx).Error())
			break loop
		case serveErr = <-served:
			break loop
		}
	}
	if _, err := d.Shutdown(context.WithoutCancel(ctx)); err != nil && serveErr == nil {
		d.log.Warn("shutdown cut in-flight requests", "err", err)
	}
	return serveErr
}
