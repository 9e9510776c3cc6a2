package probe

import (
	"context"
	"net/netip"
	"sync"

	"github.com/gownscan/gown"
)

// hostLimiter caps concurrent probes per address. Entries exist only while a
// host has probes in flight, so memory follows concurrency, not target count.
//
// It sits on every target's path, so it costs little: hosts are keyed by
// their address (no string is built), and a slot's semaphore goes back to a
// pool when its host has nothing in flight, so a scan of a million distinct
// hosts does not allocate a channel for each.
type hostLimiter struct {
	max  int
	mu   sync.Mutex
	m    map[hostKey]*hostSlot
	pool []*hostSlot // idle slots, their semaphores empty
}

// hostKey names a host: its address when resolved, its name otherwise.
type hostKey struct {
	addr netip.Addr
	name string
}

type hostSlot struct {
	sem  chan struct{}
	refs int
}

func newHostLimiter(max int) *hostLimiter {
	return &hostLimiter{max: max, m: map[hostKey]*hostSlot{}}
}

func keyOf(t gown.Target) hostKey {
	if t.Addr.IsValid() {
		return hostKey{addr: t.Addr}
	}
	return hostKey{name: t.Host}
}

// acquire waits for a slot on t's host and returns the slot to release.
func (h *hostLimiter) acquire(ctx context.Context, t gown.Target) (*hostSlot, error) {
	key := keyOf(t)
	h.mu.Lock()
	s := h.m[key]
	if s == nil {
		if n := len(h.pool); n > 0 {
			s, h.pool = h.pool[n-1], h.pool[:n-1]
		} else {
			s = &hostSlot{sem: make(chan struct{}, h.max)}
		}
		h.m[key] = s
	}
	s.refs++
	h.mu.Unlock()
	select {
	case s.sem <- struct{}{}:
		return s, nil
	case <-ctx.Done():
		h.drop(key, s)
		return nil, ctx.Err()
	}
}

func (h *hostLimiter) release(t gown.Target, s *hostSlot) {
	<-s.sem
	h.drop(keyOf(t), s)
}

func (h *hostLimiter) drop(key hostKey, s *hostSlot) {
	h.mu.Lock()
	s.refs--
	if s.refs == 0 {
		delete(h.m, key)
		// Every holder has released: the semaphore is empty. Keep as many
		// idle slots as could ever be in use at once.
		if len(h.pool) < 1024 {
			h.pool = append(h.pool, s)
		}
	}
	h.mu.Unlock()
}

// tryMore takes one more slot on t's host for a target that already holds
// s, if one is free at once; release gives it back.
func (h *hostLimiter) tryMore(t gown.Target, s *hostSlot) bool {
	h.mu.Lock()
	s.refs++
	h.mu.Unlock()
	select {
	case s.sem <- struct{}{}:
		return true
	default:
		h.drop(keyOf(t), s)
		return false
	}
}
