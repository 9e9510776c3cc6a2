package store

import (
	"context"
	"fmt"
	"github.com/gownscan/gown/internal/stack"
	"sync"
	"time"

	"github.com/gownscan/gown"
)

// BatchConfig sets when a Batcher commits.
type BatchConfig struct {
	// Max records per transaction that carry a result, findings or an
	// app; a full buffer commits at once.
	Max int
	// MaxDone bounds the records per transaction in all, counting those
	// that only mark a target finished (a closed port), which cost a few
	// bytes each. Most of a scan's targets are such; a commit writes every
	// page its rows touched (the targets' key index takes them in random
	// order), so fewer, larger commits cost far less: the bench farm's 50k
	// list took 0.30 s more wall with the store at Max 256 for all records,
	// 0.13 s at 4096 (BENCHMARKS.md).
	MaxDone int
	// Every bounds how long a record waits in the buffer, so a slow scan
	// still commits (and prints) steadily.
	Every time.Duration
}

// Validate fills in defaults.
func (c *BatchConfig) Validate() error {
	if c.Max < 0 || c.MaxDone < 0 || c.Every < 0 {
		return fmt.Errorf("batch: max %d, max done %d, every %s: must not be negative", c.Max, c.MaxDone, c.Every)
	}
	if c.Max == 0 {
		c.Max = 256
	}
	if c.MaxDone == 0 {
		c.MaxDone = 4096
	}
	c.MaxDone = max(c.MaxDone, c.Max)
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
// Commits run in a goroutine of their own, one batch at a time and in the
// order batches filled, while the next batch fills: the scan goes on probing
// during a commit, and waits only when a second batch is full before the
// first is stored (BENCHMARKS.md: the store's cost on a scan's wall time).
// A commit error is returned by the next Add, Flush or Close.
//
// Add may be called from one goroutine while the timer hands a batch over
// from another; commits and callbacks are serialised.
type Batcher struct {
	s         gown.Store
	scan      gown.ScanID
	cfg       BatchConfig
	committed func([]gown.Record) error
	ctx       context.Context // detached: a commit in flight finishes on Ctrl-C

	send sync.Mutex // held while a batch is handed to the committer: batches go in order
	mu   sync.Mutex
	buf  []gown.Record
	full int   // records of buf that carry more than a finished mark (Max counts them)
	err  error // first commit error; later calls return it
	todo chan commitReq
	free chan []gown.Record // emptied batches, back from the committer for reuse
	stop chan struct{}
	done chan struct{} // the timer has stopped
	quit chan struct{} // the committer has stopped

	closeOnce sync.Once
}

// commitReq is a batch for the committer; done, when set, is closed once it
// and every batch before it are committed.
type commitReq struct {
	batch []gown.Record
	done  chan struct{}
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
		buf: make([]gown.Record, 0, cfg.Max), todo: make(chan commitReq), free: make(chan []gown.Record, 2),
		stop: make(chan struct{}), done: make(chan struct{}), quit: make(chan struct{})}
	go b.commit()
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
			b.handOver(nil)
		}
	}
}

// commit stores the batches handed over, in order, until todo is closed.
func (b *Batcher) commit() {
	stack.Grow()
	defer close(b.quit)
	for req := range b.todo {
		if len(req.batch) > 0 {
			b.mu.Lock()
			failed := b.err != nil
			b.mu.Unlock()
			var err error
			if !failed {
				if err = b.s.AddResults(b.ctx, b.scan, req.batch); err == nil {
					err = b.committed(req.batch)
				}
			}
			if err != nil {
				b.mu.Lock()
				if b.err == nil {
					b.err = err
				}
				b.mu.Unlock()
			}
			// The callback has finished with the records; reuse the array.
			clear(req.batch)
			select {
			case b.free <- req.batch[:0]:
			default:
			}
		}
		if req.done != nil {
			close(req.done)
		}
	}
}

// handOver gives the buffered records to the committer, with done to close
// once they are stored. It waits while the committer is busy with the
// batch before.
func (b *Batcher) handOver(done chan struct{}) {
	b.send.Lock()
	defer b.send.Unlock()
	b.mu.Lock()
	batch := b.buf
	if len(batch) > 0 {
		select {
		case b.buf = <-b.free:
		default:
			b.buf = make([]gown.Record, 0, b.cfg.Max)
		}
		b.full = 0
	} else {
		batch = nil
	}
	b.mu.Unlock()
	if batch == nil && done == nil {
		return
	}
	b.todo <- commitReq{batch: batch, done: done}
}

// Add buffers one record, handing the batch to the committer when the
// buffer is full. It returns the first commit error, after which nothing
// more is stored.
func (b *Batcher) Add(rec gown.Record) error {
	b.mu.Lock()
	if b.err != nil {
		defer b.mu.Unlock()
		return b.err
	}
	b.buf = append(b.buf, rec)
	if !rec.OnlyDone() {
		b.full++
	}
	full := b.full >= b.cfg.Max || len(b.buf) >= b.cfg.MaxDone
	b.mu.Unlock()
	if full {
		b.handOver(nil)
	}
	return b.Err()
}

// Err returns the first commit error so far.
func (b *Batcher) Err() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// Flush commits whatever is buffered, and waits for every batch handed over
// before it.
func (b *Batcher) Flush() error {
	select {
	case <-b.quit:
		return b.Err() // closed: everything was committed then
	default:
	}
	done := make(chan struct{})
	b.handOver(done)
	<-done
	return b.Err()
}

// Close stops the timer and commits the rest. It does not close the store.
func (b *Batcher) Close() error {
	b.closeOnce.Do(func() {
		close(b.stop)
		<-b.done
		b.Flush()
		close(b.todo)
		<-b.quit
	})
	return b.Err()
}
