// Package redis checks whether a Redis server (6379; TLS on 6380) answers
// without authentication.
//
// It speaks RESP2 (https://redis.io/docs/reference/protocol-spec/) and reads
// RESP3 types well enough not to fail on them. It sends only these read-only
// commands, each as a one-element RESP array:
//
//	INFO     "*1\r\n$4\r\nINFO\r\n"       always, first
//	PING     "*1\r\n$4\r\nPING\r\n"       only when INFO is renamed or disabled
//	DBSIZE   "*1\r\n$6\r\nDBSIZE\r\n"     when INFO is renamed, or refused by an ACL (NOPERM)
//	SCAN 0 COUNT 10, then for at most 5 of the keys it names TYPE key and
//	one read of the value by type (GETRANGE key 0 63, HSCAN key 0 COUNT 1,
//	LRANGE key 0 0, SSCAN key 0 COUNT 1, ZRANGE key 0 0)
//	                                      when an ACL refused INFO, or INFO is renamed and PING or DBSIZE answered
//
// Verdicts: the INFO text means open, and its keyspace and used_memory lines
// give the inventory; -NOAUTH and -WRONGPASS (and Redis 2.6's "-ERR operation
// not permitted") mean auth-required; -DENIED (protected mode) means
// protected; -NOPERM (ACL) on INFO decides nothing by itself: when a value
// of one of the keys SCAN names can be read the server is open, otherwise
// restricted (docs/output.md, "What the verdicts mean"); a Redis Sentinel is not a data
// store and is reported as not-service; a reply that is not RESP at all is
// not-service too. On 6380, or for a target from a rediss:// URL, TLS is
// tried first; elsewhere plaintext is, and TLS only when the plaintext
// connection is dropped without a word or answered with a TLS record, as a
// TLS-only port does.
//
// Result.Details keys: redis_mode, role, os; master_host and master_port on a
// replica; info=renamed when INFO is renamed or disabled; acl_reads=dbsize
// when an ACL refuses INFO but DBSIZE answers, acl_reads=values when it
// refuses INFO but lets the keys' values be read; reply=http, tls or ssh when a
// non-RESP reply is recognised. Result.Facts: Replica (master host, port
// and link state) on a replica.
package redis

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

// The requests, as they go on the wire.
const (
	cmdInfo   = "*1\r\n$4\r\nINFO\r\n"
	cmdPing   = "*1\r\n$4\r\nPING\r\n"
	cmdDBSize = "*1\r\n$6\r\nDBSIZE\r\n"
)

const (
	plainPort = 6379
	tlsPort   = 6380
)

// errHandshake marks a failed TLS handshake, after which plaintext is worth
// a try; errSilent marks a connection closed before any reply byte.
var (
	errHandshake = errors.New("tls handshake failed")
	errSilent    = errors.New("closed without a reply")
)

// Prober checks Redis. The zero value is ready to use.
type Prober struct{}

var _ probe.Prober = (*Prober)(nil)

// New returns a Redis prober.
func New() *Prober { return &Prober{} }

// kind is Redis's descriptor: 6380 is the customary TLS port, and a
// rediss:// URL means TLS on the port it names (6379 when none).
var kind = gown.StoreKind{
	Name:    "redis",
	Ports:   []int{plainPort, tlsPort},
	Schemes: []gown.Scheme{{Name: "redis", Port: plainPort}, {Name: "rediss", Port: plainPort, TLS: true}},
}

// Kind describes Redis: ports 6379 and 6380 (TLS), schemes redis and rediss.
func (*Prober) Kind() gown.StoreKind { return kind }

// Probe sends INFO (and, depending on the answer, PING and DBSIZE) and says
// whether the data is readable without credentials.
func (p *Prober) Probe(ctx context.Context, t gown.Target, d probe.Dialer) (*gown.Result, error) {
	if t.TLS || t.Port == tlsPort {
		a := try(ctx, t, d, true)
		if a.err == nil || !errors.Is(a.err, errHandshake) || ctx.Err() != nil {
			// Redis serves TLS and plaintext on separate ports, so a port
			// where TLS works is a TLS-only port.
			return a.finish(gown.TLSRequired)
		}
		// Plaintext Redis on 6380 is common enough to check. Reaching it
		// costs up to the I/O timeout: Redis reads a ClientHello as an
		// inline command and waits for a line end it seldom contains.
		return try(ctx, t, d, false).finish(gown.TLSNone, a.evidence...)
	}
	a := try(ctx, t, d, false)
	if !a.tlsHint || ctx.Err() != nil {
		return a.finish(gown.TLSNone)
	}
	b := try(ctx, t, d, true)
	if b.res == nil {
		return a.finish(gown.TLSNone) // TLS did not help: report what plaintext showed
	}
	return b.finish(gown.TLSRequired, a.evidence...)
}

// attempt is one connection's try.
type attempt struct {
	res      *gown.Result    // set when the peer answered in a way gown can place
	tls      *gown.TLS       // the handshake's facts, when TLS was used
	evidence []gown.Evidence // the exchanges, even when err is set
	err      error           // what stopped the attempt, or a later step
	// tlsHint is set when plaintext got no reply byte or a TLS record back:
	// a TLS-only port drops or alerts plaintext clients.
	tlsHint bool
}

// finish turns an attempt into Probe's return values. earlier holds the
// evidence of attempts made before this one, so the record shows all of them.
func (a attempt) finish(mode gown.TLSMode, earlier ...gown.Evidence) (*gown.Result, error) {
	if a.res == nil {
		return nil, a.err
	}
	r := a.res
	if a.tls != nil {
		r.TLS = *a.tls
	}
	if r.Status != gown.StatusNotService || r.Product != "" {
		r.TLS.Mode = mode
	}
	r.Evidence = append(append([]gown.Evidence(nil), earlier...), a.evidence...)
	if a.err != nil {
		r.Error = a.err.Error()
	}
	return r, nil
}

// try dials once, upgrades to TLS if asked, and runs the command sequence.
func try(ctx context.Context, t gown.Target, d probe.Dialer, useTLS bool) (a attempt) {
	conn, err := d.Dial(ctx, t)
	if err != nil {
		a.err = fmt.Errorf("redis dial %s: %w", t, err)
		return a
	}
	defer conn.Close()
	// Runs before Close (defers are last in, first out).
	defer func() { a.evidence = conn.Evidence() }()
	if useTLS {
		if err := conn.UpgradeTLS(probe.ServerName(t)); err != nil {
			a.err = fmt.Errorf("redis TLS on %s: %w: %w", t, errHandshake, err)
			return a
		}
		a.tls = conn.TLS()
	}
	s := &session{conn: conn, br: bufio.NewReader(conn), t: t}
	a.res, a.err = s.run()
	a.tlsHint = !useTLS && (errors.Is(a.err, errSilent) || (a.res != nil && a.res.Details["reply"] == "tls"))
	return a
}

// session is one connection's command exchange.
type session struct {
	conn *probe.Conn
	br   *bufio.Reader
	t    gown.Target
	head []byte // the first bytes of the last reply, to name a non-RESP peer
}

// do sends one command and reads its reply. The reply is read even when the
// write failed: protected mode sends -DENIED on accept and closes at once, so
// the write may be refused while the verdict already waits in the buffer.
func (s *session) do(name, cmd string) (reply, error) {
	s.conn.Step(name)
	return s.exchange(name, cmd)
}

// doValue is do for a read of a key's value (the verdict's deciding read):
// its reply is stored data, kept out of the evidence.
func (s *session) doValue(name, cmd string) (reply, error) {
	s.conn.StepWithheld(name)
	return s.exchange(name, cmd)
}

// exchange sends cmd and reads one reply.
func (s *session) exchange(name, cmd string) (reply, error) {
	_, werr := io.WriteString(s.conn, cmd)
	if _, err := s.br.Peek(1); err != nil {
		if werr != nil {
			err = werr
		}
		if s.conn.BytesRead() == 0 && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)) {
			err = fmt.Errorf("%w: %w", errSilent, err)
		}
		return reply{}, fmt.Errorf("redis %s on %s: %w", name, s.t, err)
	}
	head, _ := s.br.Peek(min(s.br.Buffered(), 8))
	s.head = append(s.head[:0], head...)
	rep, err := readReply(s.br)
	if err != nil {
		return reply{}, fmt.Errorf("redis %s on %s: %w", name, s.t, err)
	}
	return rep, nil
}
