package store

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/gownscan/gown"
)

// BatchConfig sets when a Batcher commits.
type BatchConfig struct {
	// Max records per transaction; a full buffer commits at once.
	Max int
	// Every bounds how long a record waits in the buffer, so a slow scan
	// still commits (and prints) steadily.
	Every time.Duration
}

// Validate fills in defaults.
func (c *BatchConfig) Validate() error {
	if c.Max < 0 || c.Every < 0 {
		return fmt.Errorf("batch: max %d, every %s: must not be negative", c.Max, c.Every)
	}
	if c.Max == 0 {
		c.Max = 256
	}
	if c.Every == 0 {
		c.Every = 200 * time.Millisecond
	}
	return nil
}

// Batcher buffers a scan's records and commits them in batches, each in one
// transaction. After each commit it hands the batch to the committed
// callback, so a caller that prints there only ever reports what is stored:
// a killed scan has printed nothing that a resume would not find.
//
// Add may be called from one goroutine while the timer commits from
// another; commits and callbacks are serialised.
type Batcher struct {
	s         gown.Store
	scan      gown.ScanID
	cfg       BatchConfig
	committed func([]gown.Record) error
	ctx       context.Context // detached: a commit in flight finishes on Ctrl-C

	mu   sync.Mutex
	buf  []gown.Record
	err  error // first commit error; later calls return it
	stop chan struct{}
	done chan struct{}

	closeOnce sync.Once
}

// NewBatcher starts a batcher writing into scan. committed may be nil.
// Commits outlive ctx's cancellation (a Ctrl-C must not lose the buffer) but
// keep its values.
func NewBatcher(ctx context.Context, s gown.Store, scan gown.ScanID, cfg BatchConfig, committed func([]gown.Record) error) (*Batcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if committed == nil {
		committed = func([]gown.Record) error { return nil }
	}
	b := &Batcher{s: s, scan: scan, cfg: cfg, committed: committed, ctx: context.WithoutCancel(ctx),
		buf: make([]gown.Record, 0, cfg.Max), stop: make(chan struct{}), done: make(chan struct{})}
	go b.tick()
	return b, nil
}

func (b *Batcher) tick() {
	defer close(b.done)
	t := time.NewTicker(b.cfg.Every)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
			b.mu.Lock()
			b.flushLocked()
			b.mu.Unlock()
		}
	}
}

// Add buffers one record, committing when the buffer is full. It returns the
// first commit error, after which nothing more is stored.
func (b *Batcher) Add(rec gown.Record) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return b.err
	}
	b.buf = append(b.buf, rec)
	if len(b.buf) >= b.cfg.Max {
		b.flushLocked()
	}
	return b.err
}

// Flush commits whatever is buffered.
func (b *Batcher) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flushLocked()
	return b.err
}

func (b *Batcher) flushLocked() {
	if b.err != nil || len(b.buf) == 0 {
		return
	}
	if err := b.s.AddResults(b.ctx, b.scan, b.buf); err != nil {
		b.err = err
		return
	}
	if err := b.committed(b.buf); err != nil {
		b.err = err
	}
	// The callback has finished with the records; reuse the array.
	clear(b.buf)
	b.buf = b.buf[:0]
}

// Close stops the timer and commits the rest. It does not close the store.
func (b *Batcher) Close() error {
	b.closeOnce.Do(func() { close(b.stop); <-b.done })
	return b.Flush()
}
