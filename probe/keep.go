package probe

import (
	"context"
	"io"
	"sync"
)

// Kept connections. A prober whose verdict is open and whose last session
// could go on to read records (PostgreSQL: a session is one database's,
// and logging in costs the server a forked backend and its catalog caches,
// about 2 ms of its CPU) may leave that session open for its own sampler
// instead of closing it, so that sampling does not log in again. The
// engine owns what is kept: it closes it once the target is done, sampled
// or not, so a kept connection never outlives its target's turn nor joins
// the next target's connections to the host.

type keeperKey struct{}

// keeper holds the connections kept during one target's turn.
type keeper struct {
	mu   sync.Mutex
	held []io.Closer
}

// withKeeper gives ctx a keeper: the engine does so for each target when
// sampling is on.
func withKeeper(ctx context.Context, k *keeper) context.Context {
	return context.WithValue(ctx, keeperKey{}, k)
}

// Keep hands c to the engine when a sampler may still use it: the prober
// then leaves c open (in Result.Heard, for its sampler, which closes it
// when done) and the engine closes it, if still open, at the end of the
// target's turn. It returns false when nothing will sample (sampling off,
// a prober run outside the engine): the prober closes c itself. Close must
// be safe to call twice.
func Keep(ctx context.Context, c io.Closer) bool {
	k, ok := ctx.Value(keeperKey{}).(*keeper)
	if !ok {
		return false
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.held = append(k.held, c)
	return true
}

// close closes what was kept.
func (k *keeper) close() {
	k.mu.Lock()
	held := k.held
	k.held = nil
	k.mu.Unlock()
	for _, c := range held {
		c.Close()
	}
}

// Rebind ties a kept connection to the sampler's ctx: its deadline bounds
// every read and write from then on, and its end closes the socket. It
// reports false when the ctx the connection was tied to had already ended
// (a detection race's loser's, cancelled), which closed the socket: the
// sampler then dials anew.
func (c *Conn) Rebind(ctx context.Context) bool { return c.rebind(ctx) }
