// Package memcached checks whether a memcached server (11211, TCP only; gown
// never sends UDP) answers without authentication.
//
// It follows the text protocol of memcached's doc/protocol.txt and, only
// when a server refuses text, the binary protocol (protocol_binary.h, the
// "Memcache Binary Protocol" draft) in which SASL authentication lives. It
// sends only these read-only requests:
//
//	stats            "stats" + 17 spaces + "\r\n"  always, first (24 bytes; see cmdStats)
//	stats settings   "stats settings\r\n"          after stats answered, same connection
//	SASL LIST MECHS  binary opcode 0x20            new connection, only when text was dropped unanswered
//	VERSION          binary opcode 0x0b            after a mechanism list
//	STAT             binary opcode 0x10            after SASL LIST MECHS, to see whether SASL is enforced
//
// Binary requests are bare 24-byte headers: no key, no value, opaque "gown".
//
// Verdicts: STAT lines ending in END mean open, and curr_items and bytes give
// the inventory (one database, "cache"); CLIENT_ERROR unauthenticated (the
// ASCII authentication of -Y) means auth-required. A server started with -S
// (SASL) closes the connection on any text command: gown then asks for the
// SASL mechanisms in the binary protocol, and a mechanism list or an auth
// error with stat refused means auth-required; a binary-only server without
// SASL (-B binary) that answers stat is open. A bare ERROR to stats is
// unknown (a proxy or a server with stats disabled); Redis errors, HTTP, TLS
// records and other bytes are not-service.
package memcached

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
)

// The text requests, as they go on the wire. stats is padded with spaces to
// 24 bytes, the size of a binary header: a server that speaks only binary
// (-S, -B binary) reads a whole header, sees a bad magic byte and closes at
// once, where "stats\r\n" alone would leave it waiting for 17 more bytes
// until the read timeout. The text parser skips the spaces (memcached's
// tokenizer drops empty tokens, in 1.4 as in 1.6).
const (
	cmdStats    = "stats                 \r\n"
	cmdSettings = "stats settings\r\n"
)

const port = 11211

// errSilent marks a connection closed before any reply byte: what memcached
// does to a text command when only the binary protocol is allowed (-S,
// -B binary), logging "Invalid magic".
var errSilent = errors.New("closed without a reply")

// Prober checks memcached. The zero value is ready to use.
type Prober struct{}

var _ probe.Prober = (*Prober)(nil)

// New returns a memcached prober.
func New() *Prober { return &Prober{} }

// kind is memcached's descriptor.
var kind = gown.StoreKind{
	Name:    "memcached",
	Ports:   []int{port},
	Schemes: []gown.Scheme{{Name: "memcached", Port: port}},
}

// Kind describes memcached: port 11211, scheme memcached.
func (*Prober) Kind() gown.StoreKind { return kind }

// Probe sends stats (and, depending on the answer, stats settings or the
// binary SASL requests) and says whether the cache is readable without
// credentials.
func (p *Prober) Probe(ctx context.Context, t gown.Target, d probe.Dialer) (*gown.Result, error) {
	a := textAttempt(ctx, t, d)
	if !errors.Is(a.err, errSilent) || ctx.Err() != nil {
		return a.finish()
	}
	b := binaryAttempt(ctx, t, d)
	b.evidence = append(a.evidence, b.evidence...)
	if b.res == nil && b.err != nil {
		b.err = fmt.Errorf("%w (text stats: %w)", b.err, a.err)
	}
	return b.finish()
}

// attempt is one connection's try.
type attempt struct {
	res      *gown.Result    // set when the peer answered in a way gown can place
	evidence []gown.Evidence // the exchanges, even when err is set
	err      error           // what stopped the attempt, or a later step
}

// finish turns an attempt into Probe's return values.
func (a attempt) finish() (*gown.Result, error) {
	if a.res == nil {
		return nil, a.err
	}
	r := a.res
	r.Evidence = a.evidence
	if a.err != nil {
		// Keep a note the verdict step already made (a counter that is not
		// a number) alongside the later step's failure.
		if r.Error != "" {
			r.Error += "; "
		}
		r.Error += a.err.Error()
	}
	if r.Status != gown.StatusNotService {
		r.TLS.Mode = gown.TLSNone // gown speaks plaintext only, and it was answered
	}
	return r, nil
}

// session is one connection's exchanges.
type session struct {
	conn *probe.Conn
	br   *bufio.Reader
	t    gown.Target
}

// dial opens a connection and runs fn over it, keeping the evidence.
func dial(ctx context.Context, t gown.Target, d probe.Dialer, fn func(*session) (*gown.Result, error)) (a attempt) {
	conn, err := d.Dial(ctx, t)
	if err != nil {
		a.err = fmt.Errorf("memcached dial %s: %w", t, err)
		return a
	}
	defer conn.Close()
	// Runs before Close (defers are last in, first out).
	defer func() { a.evidence = conn.Evidence() }()
	a.res, a.err = fn(&session{conn: conn, br: newReader(conn), t: t})
	return a
}

// send writes one request and waits for the first reply byte. The reply is
// awaited even when the write failed: a server that drops the connection may
// already have answered.
func (s *session) send(step, req string) error {
	s.conn.Step(step)
	_, werr := io.WriteString(s.conn, req)
	if _, err := s.br.Peek(1); err != nil {
		if werr != nil {
			err = werr
		}
		if s.conn.BytesRead() == 0 && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)) {
			err = fmt.Errorf("%w: %w", errSilent, err)
		}
		return s.wrap(step, err)
	}
	return nil
}

// wrap names the operation and the target in an error.
func (s *session) wrap(step string, err error) error {
	return fmt.Errorf("memcached %s on %s: %w", step, s.t, err)
}

// result starts a result for this target.
func (s *session) result(st gown.Status, reason string) *gown.Result {
	return &gown.Result{Target: s.t, Store: "memcached", Status: st, Reason: reason}
}
