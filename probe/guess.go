package probe

import (
	"context"
	"sync"
	"time"

	"github.com/gownscan/gown"
)

// Guessing by port. Detection costs a target several connections: the
// banner's, then a racer per client-first prober until one names the store
// (a PostgreSQL forks a backend for each, about 3 ms of its CPU). On the
// bench farm's unhinted 10k list PostgreSQL spent 1.05 CPU-s against 0.36
// hinted, and the scan took 1.8 to 1.9 times the hinted wall. But a scan of
// address ranges sees the same port on host after host, and an operator's
// hosts run the same service on it. So the engine tallies, per port, the
// store detection named there; once one store holds the port clearly
// (guessMin identifications, guessLead times all others and all failed
// guesses), the next target on that port is probed by that store's prober
// alone, over the connection made ahead, as if hinted. Only a claim that
// names the product (a greeting, an SSL answer, a reply in the store's own
// protocol) is taken: anything else, or no answer within the answer wait,
// counts as a failed guess and the target goes through detection as
// before. A wrong guess so costs one connection and at most one answer
// wait; a right one saves the banner wait and the race.
const (
	guessMin  = 2
	guessLead = 4
)

// portGuesses is the tally of one engine (one scan).
type portGuesses struct {
	mu    sync.Mutex
	ports map[int]*portTally
}

// portTally counts the stores detection named on one port, and the guesses
// that failed there.
type portTally struct {
	stores map[string]int
	misses int
}

// guess returns the store that holds port clearly, or "".
func (g *portGuesses) guess(port int) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	pt := g.ports[port]
	if pt == nil {
		return ""
	}
	best, n, all := "", 0, 0
	for s, k := range pt.stores {
		all += k
		if k > n || (k == n && s < best) {
			best, n = s, k
		}
	}
	if n < guessMin || n < guessLead*(all-n+pt.misses) {
		return ""
	}
	return best
}

// named records that detection (or a guess) named store on port.
func (g *portGuesses) named(port int, store string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ports == nil {
		g.ports = map[int]*portTally{}
	}
	pt := g.ports[port]
	if pt == nil {
		pt = &portTally{stores: map[string]int{}}
		g.ports[port] = pt
	}
	pt.stores[store]++
}

// missed records a guess on port that did not name its store.
func (g *portGuesses) missed(port int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if pt := g.ports[port]; pt != nil {
		pt.misses++
	}
}

// tryGuess probes t with the prober of the store that holds its port, if
// one does and t has had no guess yet (detection tries before the banner
// wait and again after it: the port may have been named meanwhile). It returns the result when that prober named its store (it is
// then analyzed), and nil when detection must run: no guess, or a wrong
// one.
func (e *Engine) tryGuess(ctx, scanCtx context.Context, j *job) *gown.Result {
	if j.guessed {
		return nil
	}
	store := e.guesses.guess(j.t.Port)
	if store == "" {
		return nil
	}
	p, ok := e.reg.Get(store)
	if !ok {
		return nil
	}
	j.guessed = true
	d := &j.first
	r := e.runOne(ctx, j.t, &guessDialer{d: d, short: e.answerWait(d)}, p)
	if identified(r) && r.Product != "" {
		e.analyze(scanCtx, p, j.t, r)
		return r
	}
	e.guesses.missed(j.t.Port)
	return nil
}

// guessDialer is the guessed prober's dialer: the connection made ahead,
// with the first-byte deadline cut to the answer wait until the target has
// spoken, so that a guess a silent server ignores (a Redis waits for a
// line end that PostgreSQL's SSLRequest never sends) costs one answer
// wait, not a first-byte deadline.
type guessDialer struct {
	d     *aheadDialer
	short time.Duration
}

func (g *guessDialer) Dial(ctx context.Context, t gown.Target) (*Conn, error) {
	c, err := g.d.Dial(ctx, t)
	if err == nil && c.firstByte > 0 && !g.d.spoke.Load() {
		c.firstByte = min(c.firstByte, g.short)
	}
	return c, err
}
