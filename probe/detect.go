package probe

import (
	"context"
	"slices"
	"sync/atomic"
	"time"

	"github.com/gownscan/gown"
)

// Detection: identifying the store on a port no prober claims, in the
// manner of nmap's service probes, at a cost close to a hint's.
//
//  1. Banner. The connection made ahead waits BannerWait (100 ms by
//     default, plus four connect times) for the service to speak first. A
//     server-first store greets at once (MySQL's handshake), so the wait is
//     only ever spent in full on a silent port. A greeting later than that
//     (a MySQL that resolves the client's name first) is not lost: the
//     banner's connection keeps reading through the race, and a byte on it,
//     where nothing was sent, ends the race for the server-first probers
//     (3c).
//  2. A banner came: the server-first probers, in turn (there is one today:
//     MySQL). No client's request is sent to a port that already said what
//     it is.
//  3. No banner: the client-first probers, in registration order (probe/all:
//     redis, memcached, elasticsearch, postgres, mongodb, the other HTTP
//     stores, mqtt, which
//     says why), at most RaceWidth at once (4 by default), each on its own
//     connection, each matching its own request's reply as it would on its
//     own port; the next starts as one ends, and when none has ended for an
//     answer wait (AnswerWait, 250 ms) (the server ignores the requests of those running) the
//     race widens by RaceWidth more. The first that identifies its store by
//     name wins, and the others are cancelled (their sockets closed) at
//     once. The width is bounded because every racer is a connection to a
//     real server (a PostgreSQL forks a backend for each), while almost any
//     server refuses a wrong request at once. With a per-host limit that
//     binds, the race runs as wide as the host's free slots allow (at least
//     one: the target's own), so --per-host holds.
//     A racer started after the target has reacted to another (a reply, a
//     refusal, a close) waits an answer wait, not the first-byte deadline,
//     for its first byte: the server has shown it answers at once. A racer
//     started later on a target that has not reacted keeps the target's
//     first-byte deadline, counted from the race's start; once one waited
//     it out, the racers not yet started start at once and wait an answer
//     wait, so a tarpit costs BannerWait + FirstByte (+ AnswerWait when
//     there are more probers than one stage holds).
//     A weak claim, a verdict that names no product (a bare 401 or 403,
//     which the Elasticsearch and CouchDB probers both read as theirs), is
//     settled by order: the earliest such claim wins once no racer before
//     it is running, or an answer wait after the first weak claim (then
//     only racers before it that have had a reply are waited for).
//  3b. No identification, but the target reacted: the racers that timed out
//     try again one at a time with the full first-byte deadline (a server
//     that serves one connection at a time, or was slowed by the race).
//  3c. A greeting on the banner's connection during the race: the race is
//     cancelled and the server-first probers run in turn.
//  4. Nothing identified, but the target spoke: the hint-only stores that
//     name this port for detection (Firebase's emulators on 9000), in turn.
//     They come last because their request is any HTTP server's GET.
//
// Why a short banner wait (100 ms) rather than nmap's seconds: every silent
// open port pays it in full, and it is most of what detection adds to a
// hinted scan; a late greeting costs the race's connections to a greeting
// server until it greets, which may read their requests as bad handshakes
// (MariaDB counts them towards max_connect_errors where it keeps a host
// cache), and is still identified (3c).
//
// Every read on the way waits FirstByte at most until the target has spoken
// (conn.go), so a silent port, a tarpit, costs BannerWait + FirstByte +
// BannerWait.

// detect identifies the store on j's port. The result's Start and Duration
// span the whole detection, banner wait included.
func (e *Engine) detect(ctx, scanCtx context.Context, j *job) *gown.Result {
	start := time.Now()
	r := e.tryGuess(ctx, scanCtx, j)
	if r == nil && ctx.Err() == nil {
		r = e.detectStages(ctx, scanCtx, j)
	}
	if r != nil {
		r.Start, r.Duration = start, time.Since(start)
		if identified(r) && r.Product != "" && r.Store != "" {
			e.guesses.named(j.t.Port, r.Store)
		}
	}
	return r
}

func (e *Engine) detectStages(ctx, scanCtx context.Context, j *job) *gown.Result {
	t, d := j.t, &j.first
	banner, late, err := e.banner(ctx, t, d)
	if err != nil {
		return failed(t, "", err)
	}
	if banner {
		r := e.inTurn(ctx, scanCtx, t, d, e.reg.serverFirst)
		if r == nil || identified(r) || !r.Status.Answered() || ctx.Err() != nil {
			return r
		}
		// A greeting no server-first store claims: some client-first
		// servers speak first to refuse (Redis's protected mode sends
		// -DENIED on accept). Their probers read such a refusal.
	}
	if late != nil && len(e.reg.serverFirst) == 0 {
		late.c.Close() // no store a late greeting could be
		late = nil
	}
	if !banner && ctx.Err() == nil {
		// The port may have been named while this target waited out its
		// banner wait: targets on one port start together, each before any
		// has been identified, and on the unhinted 10k list each raced
		// (a PostgreSQL forked a backend for every racer). A guess now
		// costs one connection and saves the race.
		if r := e.tryGuess(ctx, scanCtx, j); r != nil {
			if late != nil {
				late.c.Close()
			}
			return r
		}
	}
	raceCtx, cancelRace := context.WithCancel(ctx)
	greeted := make(chan struct{})
	if late != nil {
		// The banner's connection keeps listening through the race: a
		// greeting on it, where nothing was sent, is a server-first store
		// that greeted late, and ends the race.
		go func() {
			if <-late.got {
				close(greeted)
				cancelRace()
			}
		}()
	}
	r := e.race(raceCtx, scanCtx, j, e.reg.clientFirst)
	cancelRace()
	if late != nil {
		if r != nil && !identified(r) && d.spoke.Load() {
			// The racers read the greeting as no store of theirs and may
			// have ended before the banner's reader saw it: give it a
			// banner wait.
			select {
			case <-greeted:
			case <-time.After(e.bannerWait(d)):
			}
		}
		late.c.Close()
		select {
		case <-greeted:
			if ctx.Err() == nil {
				return e.inTurn(ctx, scanCtx, t, d, e.reg.serverFirst)
			}
		default:
		}
	}
	if r != nil && (identified(r) || !r.Status.Answered()) {
		return r
	}
	if last := e.reg.ForDetectPort(t.Port); len(last) > 0 && d.spoke.Load() && ctx.Err() == nil {
		if lr := e.inTurn(ctx, scanCtx, t, d, last); identified(lr) || r == nil {
			return lr
		}
	}
	if r != nil {
		r.Store = "" // no single prober identified it
	}
	return r
}

// banner waits briefly for the service to speak first, on the connection
// made ahead. It reports whether a byte came; when none did, late holds the
// connection, still reading (up to the first-byte deadline), for the caller
// to watch and close.
func (e *Engine) banner(ctx context.Context, t gown.Target, d *aheadDialer) (bool, *lateBanner, error) {
	c, err := d.Dial(ctx, t)
	if err != nil {
		return false, nil, err
	}
	got := make(chan bool, 1)
	go func() {
		var b [1]byte
		n, _ := c.Read(b[:])
		got <- n > 0
	}()
	wait := time.NewTimer(e.bannerWait(d))
	defer wait.Stop()
	select {
	case spoke := <-got:
		c.Close()
		return spoke, nil, nil
	case <-wait.C:
		return false, &lateBanner{c: c, got: got}, nil
	case <-ctx.Done():
		c.Close()
		return false, nil, ctx.Err()
	}
}

// lateBanner is the banner's connection after the wait: got says whether a
// byte came before the read ended.
type lateBanner struct {
	c   *Conn
	got chan bool
}

// bannerWait is BannerWait plus the four connect times the target's
// first-byte deadline holds.
func (e *Engine) bannerWait(d *aheadDialer) time.Duration {
	wait := e.cfg.BannerWait
	if d.firstByte > e.cfg.FirstByte {
		wait += d.firstByte - e.cfg.FirstByte
	}
	return wait
}

// answerWait is AnswerWait plus the four connect times the target's
// first-byte deadline holds.
func (e *Engine) answerWait(d *aheadDialer) time.Duration {
	wait := e.cfg.AnswerWait
	if d.firstByte > e.cfg.FirstByte {
		wait += d.firstByte - e.cfg.FirstByte
	}
	return wait
}

// race runs the probers at once, each on its own connection, as wide as
// the per-host limit allows, starting them in order, and returns the first
// result that identifies its store, or the one that says the most.
func (e *Engine) race(ctx, scanCtx context.Context, j *job, ps []Prober) *gown.Result {
	if len(ps) == 0 {
		return nil
	}
	t, d := j.t, &j.first
	width, extra := min(len(ps), max(e.cfg.RaceWidth, 1)), 0
	// widen takes up to n racing slots in all: the target's own and more
	// if the host has them free.
	widen := func(n int) {
		if e.hosts == nil || j.slot == nil {
			width = n
			return
		}
		for 1+extra < n && e.hosts.tryMore(t, j.slot) {
			extra++
		}
		width = 1 + extra
	}
	widen(width)
	defer func() {
		for range extra {
			e.hosts.release(t, j.slot)
		}
	}()
	raceCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	type done struct {
		i int // the prober's order in ps
		p Prober
		r *gown.Result
	}
	results := make(chan done, len(ps))
	next, running := 0, 0
	inFlight := make([]bool, len(ps))       // by order: racers started and not yet ended
	dialers := make([]*raceDialer, len(ps)) // by order: each racer's dialer
	short := min(d.firstByte, e.answerWait(d))
	began := time.Now()
	silent := false // a racer waited out its first-byte deadline on a target that reacted to nothing
	launch := func() {
		i := next
		p := ps[i]
		next++
		running++
		inFlight[i] = true
		// A racer started late keeps the target's first-byte deadline,
		// counted from the race's start, not one of its own: a tarpit
		// costs one first-byte deadline however the race was staged.
		fb := max(short, d.firstByte-time.Since(began))
		rd := &raceDialer{d: d, firstByte: fb, short: short, quick: silent}
		dialers[i] = rd
		go func() { results <- done{i, p, e.runOne(raceCtx, t, rd, p)} }()
	}
	var best, unanswered, won, weak *gown.Result
	var winner, weakP Prober
	weakAt := -1 // the order of the weak claim held
	var timedOut []Prober
	// claim settles the race on r.
	claim := func(r *gown.Result, p Prober) {
		won, winner = r, p
		cancel()
	}
	// earlierRunning reports a racer before order i still in flight; with
	// answered, only one whose own exchange has had a byte back (it is
	// reading a reply, not waiting on a server that ignores it).
	earlierRunning := func(i int, answered bool) bool {
		for k := range i {
			if inFlight[k] && (!answered || dialers[k].spoke.Load()) {
				return true
			}
		}
		return false
	}
	// stalled fires when no racer has ended for an answer wait: the racers
	// running wait on a server that ignores their requests, and the race
	// widens by RaceWidth more. weakDone bounds the wait for earlier racers
	// once a weak claim is held.
	stalled := time.NewTimer(short)
	defer stalled.Stop()
	var weakDone <-chan time.Time
	weakPassed := false // the answer wait after the first weak claim is over
	fill := func() {
		// No new racer once a weak claim is held: a later one could only
		// lose to it, or name the store by a product the earlier missed,
		// which the racers already running may still do.
		for won == nil && weak == nil && next < len(ps) && running < width && raceCtx.Err() == nil {
			launch()
		}
	}
	fill()
	for running > 0 {
		var x done
		select {
		case x = <-results:
			stalled.Reset(short)
		case <-stalled.C:
			if won == nil && weak == nil && next < len(ps) {
				widen(width + max(e.cfg.RaceWidth, 1))
			}
			fill()
			stalled.Reset(short)
			continue
		case <-weakDone:
			weakDone, weakPassed = nil, true
			if won == nil && !earlierRunning(weakAt, true) {
				claim(weak, weakP)
			}
			continue
		}
		running--
		inFlight[x.i] = false
		switch {
		case won != nil:
			// cancelled after the race was won: its result says nothing
		case identified(x.r) && x.r.Product != "":
			claim(x.r, x.p)
		case identified(x.r):
			// A weak claim: a verdict with nothing that names the product
			// (a bare 401 or 403 from an HTTP server, which Elasticsearch's
			// and CouchDB's probers both read as theirs). Order decides
			// between weak claims, so it does not hang on which reply came
			// first: the earliest in order wins once no racer before it is
			// still running, or, an answer wait after the first weak claim,
			// once none before it that has had a reply is (one that has
			// had none waits on a server that ignores its request).
			if weak == nil || x.i < weakAt {
				weak, weakP, weakAt = x.r, x.p, x.i
			}
			if weakDone == nil && !weakPassed {
				weakDone = time.After(short)
			}
		case !x.r.Status.Answered():
			unanswered = x.r
		default:
			if x.r.Reason == reasonDeadline {
				timedOut = append(timedOut, x.p)
				if !silent && !d.spoke.Load() && !d.hungUp.Load() && next < len(ps) {
					// Silent to a request for the whole first-byte
					// deadline: the rest start now and wait short.
					silent = true
					widen(len(ps) - next + running)
				}
			}
			best = better(best, x.r)
		}
		if won == nil && weak != nil && (!earlierRunning(weakAt, false) || (weakPassed && !earlierRunning(weakAt, true))) {
			claim(weak, weakP)
		}
		fill()
	}
	if won == nil && weak != nil {
		claim(weak, weakP)
	}
	// Whether the target reacted is what its connections saw (a byte, a
	// close, a reset), not what the probers concluded: a prober may report
	// a tarpit's silence in words of its own.
	reacted := d.spoke.Load() || d.hungUp.Load()
	if won == nil && reacted && ctx.Err() == nil {
		// The target is alive (it answered, refused or closed on some
		// racer's request), yet no prober identified it and some got no
		// reply in time: a server that serves one connection at a time
		// (CouchbaseMock's REST port) or a few (a JVM under load), or one
		// slowed by the race's own connections (a PostgreSQL backend forked
		// for each), may have kept a prober's reply past its first-byte
		// deadline. Those probers try again one at a time, in order. A
		// tarpit reacts to nothing and is not tried again.
		slices.SortStableFunc(timedOut, func(a, b Prober) int { return indexOf(ps, a) - indexOf(ps, b) })
		for _, p := range timedOut {
			r := e.runOne(ctx, t, &retryDialer{d}, p)
			if identified(r) {
				won, winner = r, p
				break
			}
			if ctx.Err() != nil {
				break
			}
		}
	}
	if won != nil {
		e.analyze(scanCtx, winner, t, won)
		return won
	}
	if best != nil {
		return best
	}
	return unanswered // every connection refused or unanswered: nothing listens
}

// reasonDeadline is Classify's reason for a reply that did not come in time.
const reasonDeadline = "no complete reply before the deadline"

func indexOf(ps []Prober, p Prober) int {
	for i, x := range ps {
		if x == p {
			return i
		}
	}
	return len(ps)
}

// raceDialer is one racing prober's dialer: fresh connections (the one
// made ahead served the banner wait), each waiting the first-byte deadline
// until this prober's own exchange has had a byte back, not merely the
// target: a server answering a rival's request may still ignore this one's,
// or hold it behind the rival's. A byte read still marks the target as
// having spoken.
//
// Once the target has shown it reacts at once (a byte, a close or a reset
// on any connection of the race), a connection dialled from then on waits
// only short (an answer wait) for its first byte: a request that draws
// nothing in that time from a server that answers others at once is most likely
// another protocol's (a TLS ClientHello sent to Redis after its plaintext
// request was refused). If nothing identifies the target, the racers that
// timed out are tried again with the full first-byte deadline, one at a
// time.
//
// A racer's second connection while its first drew nothing (a TLS attempt
// after a plaintext request timed out) waits short as well: on a tarpit
// every racer would otherwise pay the first-byte deadline twice.
//
// quick marks a racer started after another waited out its first-byte
// deadline on a silent target: it waits short from its first connection.
type raceDialer struct {
	d                *aheadDialer
	firstByte, short time.Duration
	quick            bool
	spoke            atomic.Bool
	dials            atomic.Int32
}

func (r *raceDialer) Dial(ctx context.Context, t gown.Target) (*Conn, error) {
	c, err := r.d.inner.Dial(ctx, t)
	if err == nil && r.firstByte > 0 {
		fb := r.firstByte
		if r.quick || r.d.spoke.Load() || r.d.hungUp.Load() || (r.dials.Add(1) > 1 && !r.spoke.Load()) {
			fb = min(fb, r.short)
		}
		c.firstByte, c.spoke, c.target, c.hungUp = fb, &r.spoke, &r.d.spoke, &r.d.hungUp
	}
	return c, err
}

// retryDialer is a racer's dialer when it tries again alone: the full
// first-byte deadline until its own exchange has had a byte back.
type retryDialer struct{ d *aheadDialer }

func (r *retryDialer) Dial(ctx context.Context, t gown.Target) (*Conn, error) {
	c, err := r.d.inner.Dial(ctx, t)
	if err == nil && r.d.firstByte > 0 {
		c.firstByte, c.spoke, c.target = r.d.firstByte, new(atomic.Bool), &r.d.spoke
	}
	return c, err
}
