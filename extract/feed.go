package extract

import (
	"io"
	"sync"
)

// feed carries an entry from the worker that inflates it to a goroutine
// that reads it as it comes, a few chunks ahead: the two run side by side,
// and the entry is never held whole. The writer copies into a free chunk
// and sends it; the reader copies out of it and gives it back. Either side may stop early: stop tells the writer that the reader
// wants no more, and the writer's close ends the reader's stream with its
// error.
type feed struct {
	full chan []byte
	free chan []byte
	quit chan struct{} // closed by stop
	err  error         // why the writer stopped short; set before full is closed

	cur, held []byte // the reader's chunk: what is left of it, and all of it
}

// Chunks of a feed: how many and how big. Four of 128 KiB keep the
// inflater a few hundred microseconds ahead of the reader.
const (
	feedChunks    = 4
	feedChunkSize = 128 << 10
)

func newFeed() *feed {
	fd := &feed{full: make(chan []byte, feedChunks), free: make(chan []byte, feedChunks), quit: make(chan struct{})}
	for range feedChunks {
		fd.free <- make([]byte, 0, feedChunkSize)
	}
	return fd
}

// write sends a copy of p down the feed, in chunks. Once the reader has
// stopped, it drops p and reports false.
func (fd *feed) write(p []byte) bool {
	for len(p) > 0 {
		var buf []byte
		select {
		case buf = <-fd.free:
		case <-fd.quit:
			return false
		}
		m := copy(buf[:cap(buf)], p)
		p = p[m:]
		select {
		case fd.full <- buf[:m]:
		case <-fd.quit:
			return false
		}
	}
	return true
}

// close ends the reader's stream: with err, or at the end of the entry
// when err is nil.
func (fd *feed) close(err error) {
	fd.err = err
	close(fd.full)
}

// stop tells the writer that the reader wants no more. It is the reader's
// to call, once.
func (fd *feed) stop() { close(fd.quit) }

// Read reads what the writer has sent.
func (fd *feed) Read(p []byte) (int, error) {
	for len(fd.cur) == 0 {
		if fd.held != nil {
			fd.free <- fd.held[:0] // never blocks: at most feedChunks are out
			fd.held = nil
		}
		b, ok := <-fd.full
		if !ok {
			if fd.err != nil {
				return 0, fd.err
			}
			return 0, io.EOF
		}
		fd.cur, fd.held = b, b
	}
	n := copy(p, fd.cur)
	fd.cur = fd.cur[n:]
	return n, nil
}

// progress lets a reader scan the part of an entry already inflated while
// the worker inflates the rest into the same buffer: the reader touches
// only bytes below avail, the writer only bytes above it, and the mutex
// orders the two.
type progress struct {
	mu    sync.Mutex
	cond  sync.Cond
	avail int  // bytes written so far
	end   bool // no more will be written
}

func newProgress() *progress {
	pr := &progress{}
	pr.cond.L = &pr.mu
	return pr
}

// advance reports that the first n bytes are written.
func (pr *progress) advance(n int) {
	pr.mu.Lock()
	pr.avail = n
	pr.mu.Unlock()
	pr.cond.Broadcast()
}

// finish reports that writing stopped, the entry whole or not (the worker
// drops the reader's unit when it is not).
func (pr *progress) finish() {
	pr.mu.Lock()
	pr.end = true
	pr.mu.Unlock()
	pr.cond.Broadcast()
}

// ready blocks until the first n bytes are written and reports whether
// they are: false once writing has stopped short of them.
func (pr *progress) ready(n int) bool {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	for pr.avail < n && !pr.end {
		pr.cond.Wait()
	}
	return pr.avail >= n
}
