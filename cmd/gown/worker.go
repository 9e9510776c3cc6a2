package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/gownscan/gown/probe/all"
	"github.com/gownscan/gown/queue"
	"github.com/gownscan/gown/store"
	"github.com/spf13/pflag"
)

// cmdWorker runs one queue worker until SIGINT or SIGTERM: gown worker
// --queue nats://HOST:PORT --db postgres://...
func cmdWorker(ctx context.Context, args []string, io stdio) error {
	fs := pflag.NewFlagSet("gown worker", pflag.ContinueOnError)
	fs.SetOutput(io.err)
	var qf queueFlags
	qf.register(fs)
	dsn := fs.String("db", "", "the shared results store: a postgres:// `URL` (the one the scans were submitted to)")
	name := fs.String("name", "", "this worker's `NAME` in the ledger and logs (default: host name and process id)")
	batches := fs.Int("batches", 4, "batches run at once")
	workers := fs.Int("workers", 64, "targets of one batch probed at once")
	source := fs.String("source", "", "local source `ADDR` for connections")
	grace := fs.Duration("grace", 10*time.Second, "on SIGTERM, how long running batches may finish before they go back to the queue")
	ackWait := fs.Duration("ack-wait", time.Minute, "a batch whose worker shows no sign of life this long is delivered again")
	maxDeliver := fs.Int("max-deliver", 5, "deliveries of a failing batch before it becomes a dead letter")
	nakDelay := fs.Duration("nak-delay", 2*time.Second, "a failed batch waits this long, times its deliveries, before the next")
	quiet := fs.BoolP("quiet", "q", false, "log nothing (an error that stops the worker is still printed)")
	if err := parseFlags(fs, "worker", args, io); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return usageError{fmt.Errorf("gown worker takes no arguments, got %q", fs.Args())}
	case qf.url == "":
		return usageError{errors.New("gown worker: --queue nats://HOST:PORT is required")}
	case !store.IsPostgres(*dsn):
		return usageError{errors.New("gown worker: --db postgres://... is required: the store every worker shares")}
	}
	cfg := qf.config()
	cfg.AckWait, cfg.MaxDeliver, cfg.NakDelay = *ackWait, *maxDeliver, *nakDelay
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}
	wcfg := queue.WorkerConfig{Name: *name, Registry: all.Registry(), Batches: *batches, Workers: *workers, Grace: *grace}
	if wcfg.Name == "" {
		host, _ := os.Hostname()
		wcfg.Name = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if *source != "" {
		a, err := netip.ParseAddr(*source)
		if err != nil {
			return usageError{fmt.Errorf("--source: %v", err)}
		}
		wcfg.Source = a
	}
	if !*quiet {
		wcfg.Log = io.err
	}
	st, err := store.Open(ctx, *dsn)
	if err != nil {
		return err
	}
	defer st.Close()
	wcfg.Store = st
	if err := wcfg.Validate(); err != nil {
		return usageError{err}
	}
	q, err := queue.Open(ctx, cfg, "gown worker "+wcfg.Name)
	if err != nil {
		return err
	}
	defer q.Close()
	defer probingGC()()
	if err := q.Work(ctx, wcfg); err != nil {
		return err
	}
	// A signal ended the work: that is how a worker stops, not a failure.
	io.notef("gown: worker %s stopped\n", wcfg.Name)
	return nil
}
