package probe

import (
	"context"
	"sync"
)

// hostLimiter caps concurrent probes per address. Entries exist only while a
// host has probes in flight, so memory follows concurrency, not target count.
type hostLimiter struct {
	max int
	mu  sync.Mutex
	m   map[string]*hostSlot
}

type hostSlot struct {
	sem  chan struct{}
	refs int
}

func newHostLimiter(max int) *hostLimiter {
	return &hostLimiter{max: max, m: map[string]*hostSlot{}}
}

func hostOf(addr string) string {
	// addr is host:port; the limit is per host, so strip the port.
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == ':' {
			return addr[:i]
		}
	}
	return addr
}

func (h *hostLimiter) acquire(ctx context.Context, addr string) error {
	key := hostOf(addr)
	h.mu.Lock()
	s := h.m[key]
	if s == nil {
		s = &hostSlot{sem: make(chan struct{}, h.max)}
		h.m[key] = s
	}
	s.refs++
	h.mu.Unlock()
	select {
	case s.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		h.drop(key, s)
		return ctx.Err()
	}
}

func (h *hostLimiter) release(addr string) {
	key := hostOf(addr)
	h.mu.Lock()
	s := h.m[key]
	h.mu.Unlock()
	<-s.sem
	h.drop(key, s)
}

func (h *hostLimiter) drop(key string, s *hostSlot) {
	h.mu.Lock()
	s.refs--
	if s.refs == 0 {
		delete(h.m, key)
	}
	h.mu.Unlock()
}
