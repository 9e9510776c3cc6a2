package extract

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/gownscan/gown"
)

// Parallel reading. Inflating and scanning are CPU work and the entries of
// a zip are independent (each is read through its own section of the
// file), so each archive's entries are spread over a fixed pool of workers,
// one per core. Memory stays flat: every entry is read into a buffer from
// an arena whose buffers together never exceed the archive's largest entry
// (or minBudget, if more): the largest entry is read alone, small ones side
// by side, and buffers are reused from entry to entry, so a multidex app's
// ten-megabyte dex buffers are not left one after the other to the garbage
// collector. Results merge in entry order (see unit), so the output is the
// same as a sequential read's.

const (
	maxWorkers = 8
	minBudget  = 4 << 20
)

// done is one entry's finished unit and its place in the archive.
type done struct {
	i int
	u *unit
}

// readAll starts reading files of a on the worker pool and returns the
// function that merges each unit, in order, as it is done. Workers inflate
// at once but dispatch nothing before ready is closed: prepare runs
// meanwhile. Once ctx ends, no further entry is started.
func (s *appScan) readAll(ctx context.Context, a *archive, files []*zip.File, ready <-chan struct{}) (merge func()) {
	workers := min(runtime.GOMAXPROCS(0), maxWorkers, len(files))
	if workers == 0 {
		return func() {}
	}
	// A big dex streams (see readEntry) and takes no buffer, unless it
	// turns out not to be a dex; then it gets one outside the arena.
	budget := minBudget
	for _, f := range files {
		if f.UncompressedSize64 < s.streamMin() || !strings.HasSuffix(f.Name, ".dex") {
			budget = max(budget, int(min(f.UncompressedSize64, uint64(s.cfg.MaxEntrySize))))
		}
	}
	ar := newArena(ctx, budget)
	jobs := make(chan int)
	out := make(chan done, workers)
	go func() {
		defer close(jobs)
		for i := range files {
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				if s.cfg.Reading != nil {
					s.reading.Do(s.cfg.Reading)
				}
				out <- done{i, s.readEntry(a, files[i], ar, ready)}
			}
		})
	}
	go func() {
		wg.Wait()
		close(out)
	}()
	return func() {
		// In entry order: a unit that finishes early waits for those before
		// it. Units hold only their hits, so waiting costs little.
		pending := map[int]*unit{}
		next := 0
		for d := range out {
			pending[d.i] = d.u
			for u, ok := pending[next]; ok; u, ok = pending[next] {
				s.merge(u)
				delete(pending, next)
				next++
			}
		}
		for i := next; len(pending) > 0; i++ { // entries skipped after a cancel leave gaps
			if u, ok := pending[i]; ok {
				s.merge(u)
				delete(pending, i)
			}
		}
	}
}

// readEntry reads and scans one entry in a buffer from ar, which it gives
// back when the unit is done: the unit never holds on to it (matched values
// are copies). The archive's resource table, parsed by prepare, is scanned
// here without a second read.
func (s *appScan) readEntry(a *archive, f *zip.File, ar *arena, ready <-chan struct{}) (u *unit) {
	if f.Name == "resources.arsc" || f.Name == "base/resources.pb" {
		<-ready
		switch {
		case a.done[f]:
			return &unit{s: s}
		case f == a.tableFile:
			u = &unit{s: s}
			defer func() {
				if r := recover(); r != nil {
					u.fail(fmt.Errorf("%s!%s: reader panic: %v", a.name, f.Name, r))
				}
			}()
			u.tableStrings(a.table, gown.Source{Container: a.name, Entry: f.Name})
			return u
		}
	}
	// A big dex is scanned as it inflates, through a window (see
	// android.DexStringsFrom): it is the longest single piece of work in
	// a big app, and the largest entry, which is then never held whole.
	var scanned chan *unit
	b, skipped, err := s.read(a, f, ar.get, true, func(head []byte) *feed {
		if f.UncompressedSize64 < s.streamMin() || !bytes.HasPrefix(head, []byte("dex\n")) {
			return nil
		}
		fd, size := newFeed(), int(f.UncompressedSize64)
		scanned = make(chan *unit, 1)
		go func() {
			scanned <- s.unitWith(a, f, func(u *unit, src gown.Source) error {
				defer fd.stop()
				return u.dexFrom(fd, size, src)
			})
		}()
		return fd
	}, func(b []byte) *progress {
		// A smaller dex is read whole, and scanned as the last of it
		// inflates, in step with it.
		if len(b) < dexAheadMin || !bytes.HasPrefix(b, []byte("dex\n")) {
			return nil
		}
		pr := newProgress()
		scanned = make(chan *unit, 1)
		go func() {
			scanned <- s.unitWith(a, f, func(u *unit, src gown.Source) error { return u.dexAsWritten(b, pr, src) })
		}()
		return pr
	})
	var streamed *unit
	if scanned != nil {
		streamed = <-scanned
	}
	defer ar.put(b)
	<-ready
	switch {
	case a.done[f]:
		return &unit{s: s}
	case err != nil:
		u = &unit{s: s}
		u.fail(err)
		return u
	case streamed != nil:
		return streamed
	}
	if skipped {
		return &unit{s: s}
	}
	return s.unitOf(a, f, b)
}

// errOverArena is the arena's refusal of a buffer larger than its limit.
var errOverArena = errors.New("entry larger than the arena")

// arena hands out entry buffers from a fixed amount of memory: the
// capacity of all its buffers, in use or free, stays within limit. A
// request takes the smallest free buffer that fits; failing that, it drops
// free buffers to make room for a new one; failing that, it waits for one
// to come back. Each worker holds one buffer at a time and every request is
// at most limit, so a wait always ends.
type arena struct {
	ctx   context.Context
	mu    sync.Mutex
	cond  sync.Cond
	limit int
	total int      // capacity of all buffers, in use or free
	free  [][]byte // by ascending capacity
}

func newArena(ctx context.Context, limit int) *arena {
	ar := &arena{ctx: ctx, limit: limit}
	ar.cond.L = &ar.mu
	context.AfterFunc(ctx, func() {
		ar.mu.Lock()
		defer ar.mu.Unlock()
		ar.cond.Broadcast()
	})
	return ar
}

// get returns a buffer of length n, or the context's error.
func (ar *arena) get(n int) ([]byte, error) {
	if n > ar.limit {
		return nil, fmt.Errorf("a %d-byte entry in a %d-byte arena: %w", n, ar.limit, errOverArena)
	}
	ar.mu.Lock()
	defer ar.mu.Unlock()
	for {
		if err := ar.ctx.Err(); err != nil {
			return nil, err
		}
		if i := slices.IndexFunc(ar.free, func(b []byte) bool { return cap(b) >= n }); i >= 0 {
			b := ar.free[i]
			ar.free = slices.Delete(ar.free, i, i+1)
			return b[:n], nil
		}
		idle := 0
		for _, b := range ar.free {
			idle += cap(b)
		}
		if ar.total-idle+n <= ar.limit {
			for len(ar.free) > 0 && ar.total+n > ar.limit { // drop the largest free buffers first
				last := len(ar.free) - 1
				ar.total -= cap(ar.free[last])
				ar.free = ar.free[:last]
			}
			ar.total += n
			return make([]byte, n), nil
		}
		ar.cond.Wait()
	}
}

// put gives a buffer back; nil is ignored.
func (ar *arena) put(b []byte) {
	if b == nil {
		return
	}
	ar.mu.Lock()
	defer ar.mu.Unlock()
	i, _ := slices.BinarySearchFunc(ar.free, cap(b), func(x []byte, c int) int { return cap(x) - c })
	ar.free = slices.Insert(ar.free, i, b[:0])
	ar.cond.Broadcast()
}
