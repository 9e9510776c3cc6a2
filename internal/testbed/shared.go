package testbed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"testing"
)

// resources are processes several configurations stand on, started once
// for all of them: one OpenSearch node answers directly as opensearch-open
// and behind nginx as opensearch-nginx and opensearch-tls. They are stopped
// with the bed that started them.
type resources struct {
	mu    sync.Mutex
	items map[string]*resource
}

// resource is one shared process; done is closed once start has returned.
type resource struct {
	done chan struct{}
	val  any
	stop func() error
	err  error
}

func newResources() *resources { return &resources{items: map[string]*resource{}} }

// get returns the resource named key, starting it with start on first use.
// A caller that finds it starting waits for it (or for its own ctx).
func (r *resources) get(ctx context.Context, key string, start func(context.Context) (any, func() error, error)) (any, error) {
	r.mu.Lock()
	it, ok := r.items[key]
	if !ok {
		it = &resource{done: make(chan struct{})}
		r.items[key] = it
	}
	r.mu.Unlock()
	if !ok {
		it.val, it.stop, it.err = start(ctx)
		close(it.done)
	}
	select {
	case <-it.done:
	case <-ctx.Done():
		return nil, fmt.Errorf("testbed: waiting for %s: %w", key, ctx.Err())
	}
	return it.val, it.err
}

// stopAll stops every resource that started.
func (r *resources) stopAll() error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	for key, it := range r.items {
		<-it.done
		if it.stop != nil {
			if err := it.stop(); err != nil {
				errs = append(errs, fmt.Errorf("testbed: stop %s: %w", key, err))
			}
		}
		delete(r.items, key)
	}
	return errors.Join(errs...)
}

// sharedBed is the one bed of a test binary whose TestMain calls Main:
// Require starts each configuration at most once and hands every test the
// same servers, which Main stops when all tests are done.
var sharedBed struct {
	mu     sync.Mutex
	on     bool
	bed    *Bed
	failed map[string]error // configurations that would not start
}

// Main runs a package's tests with one shared test bed: Require then starts
// a configuration on first use only and reuses it in later tests, and
// nothing is stopped until every test has run. Servers starting once per
// binary instead of once per test saves most of a bed's start time (an
// OpenSearch node takes seconds). Tests that share a bed must not change
// its servers (Server.Stop, writes) and must read server logs from a mark
// (LogSize) rather than from the start. Call it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(testbed.Main(m)) }
func Main(m *testing.M) int {
	sharedBed.mu.Lock()
	sharedBed.on = true
	sharedBed.bed = &Bed{res: newResources()}
	sharedBed.failed = map[string]error{}
	sharedBed.mu.Unlock()
	code := m.Run()
	sharedBed.mu.Lock()
	defer sharedBed.mu.Unlock()
	if err := sharedBed.bed.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "testbed: stop shared bed:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// requireShared is Require under Main: it starts what is not yet running
// and returns a view of the shared bed holding the named servers.
func requireShared(ctx context.Context, log io.Writer, names []string) (*Bed, error) {
	sharedBed.mu.Lock()
	defer sharedBed.mu.Unlock()
	if len(names) == 0 {
		names = Names()
	}
	if _, err := resolve(names); err != nil {
		return nil, err
	}
	var missing []string
	var errs []error
	for _, n := range names {
		if err := sharedBed.failed[n]; err != nil {
			errs = append(errs, err)
		} else if sharedBed.bed.Get(n) == nil {
			missing = append(missing, n)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(missing) > 0 {
		started, err := start(ctx, log, sharedBed.bed.res, missing)
		if err != nil {
			for _, n := range missing {
				sharedBed.failed[n] = err
			}
			return nil, err
		}
		sharedBed.bed.Servers = append(sharedBed.bed.Servers, started.Servers...)
	}
	view := &Bed{}
	for _, n := range names {
		view.Servers = append(view.Servers, sharedBed.bed.Get(n))
	}
	return view, nil
}

// sharedOn reports whether this binary runs under Main.
func sharedOn() bool {
	sharedBed.mu.Lock()
	defer sharedBed.mu.Unlock()
	return sharedBed.on
}

// kindOf returns the prober kind of a configuration name.
func kindOf(name string) string {
	if c, ok := lookup(name); ok {
		return c.kind
	}
	return ""
}

// NamesOf returns the configurations of one store kind ("couchdb").
func NamesOf(kind string) []string {
	var out []string
	for _, n := range Names() {
		if kindOf(n) == kind {
			out = append(out, n)
		}
	}
	return slices.Clip(out)
}
