package postgres

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
	"github.com/jackc/pgx/v5/pgproto3"
)

// sslRequest is the SSLRequest message: length 8, then the magic request
// code 1234.5679 (80877103) that no protocol version can be mistaken for.
const sslRequest = "\x00\x00\x00\x08\x04\xd2\x16\x2f"

// user is the only role gown logs in as: the superuser every installation
// creates.
const user = "postgres"

// errHandshake marks a TLS handshake that failed after the server said 'S'.
var errHandshake = errors.New("tls handshake failed")

// startupMessage encodes a protocol 3.0 StartupMessage for db. It is built by
// hand rather than with pgproto3.StartupMessage, whose parameter map encodes
// in random order: evidence and tests want the same bytes every time.
func startupMessage(db string) []byte {
	body := "\x00\x03\x00\x00" + // protocol 3.0
		"user\x00" + user + "\x00" +
		"database\x00" + db + "\x00" +
		"application_name\x00gown\x00" +
		"\x00"
	msg := binary.BigEndian.AppendUint32(nil, uint32(4+len(body)))
	return append(msg, body...)
}

// validDB reports whether a database name from the server can go in a
// StartupMessage: a NUL would end the value early and let a hostile server
// smuggle parameters (even another user) into gown's request.
func validDB(name string) bool {
	return name != "" && len(name) <= 63 && !strings.ContainsRune(name, 0)
}

// session is one connection to the server.
type session struct {
	conn *probe.Conn
	w    *wire
	t    gown.Target
	// ssl is the server's one-byte answer to SSLRequest ('S', 'N', 'E'), or
	// 0 when none was sent.
	ssl byte
	tls *gown.TLS
	// serverErr is the ErrorResponse an old server sent instead of 'S'/'N'.
	serverErr *serverError
	// sample widens what a query keeps, for the rows sampling reads
	// (sample.go) rather than catalog figures.
	sample bool
	// closed is set by close: a session kept for sampling (kept) may be
	// closed by the sampler and again by the engine.
	closed bool
}

// open dials t and, when ssl is set, sends SSLRequest first and follows the
// answer: 'S' upgrades to TLS, 'N' stays in plaintext. It returns the
// session whenever the dial worked, even with an error, so that the caller
// can take its evidence and close it.
func open(ctx context.Context, t gown.Target, d probe.Dialer, ssl bool) (*session, error) {
	conn, err := d.Dial(ctx, t)
	if err != nil {
		return nil, fmt.Errorf("postgres dial %s: %w", t, err)
	}
	s := &session{conn: conn, t: t}
	if !ssl {
		s.w = newWire(conn, conn)
		return s, nil
	}
	conn.Step("SSLRequest")
	if _, err := io.WriteString(conn, sslRequest); err != nil {
		return s, fmt.Errorf("postgres SSLRequest on %s: %w", t, err)
	}
	// Exactly one byte, straight from the socket: bytes a server sends after
	// 'S' and before the handshake must not be read as if they came over TLS
	// (CVE-2021-23222).
	var b [1]byte
	if _, err := io.ReadFull(conn, b[:]); err != nil {
		return s, fmt.Errorf("postgres SSLRequest on %s: %w", t, err)
	}
	s.ssl = b[0]
	switch b[0] {
	case 'S':
		if err := conn.UpgradeTLS(probe.ServerName(t)); err != nil {
			return s, fmt.Errorf("postgres TLS on %s: %w: %w", t, errHandshake, err)
		}
		s.tls = conn.TLS()
		s.w = newWire(conn, conn)
	case 'N':
		s.w = newWire(conn, conn)
	case 'E':
		return s, s.oldServer(b[0])
	default:
		return s, fmt.Errorf("postgres SSLRequest on %s: %w: answered %q", t, errNotPG, b[0])
	}
	return s, nil
}

// oldServer reads the ErrorResponse a server without SSL support (before 7.1)
// sends to SSLRequest. It is still PostgreSQL; a fresh connection without
// SSLRequest may get in.
func (s *session) oldServer(first byte) error {
	w := newWire(io.MultiReader(bytes.NewReader([]byte{first}), s.conn), s.conn)
	msg, err := w.fe.Receive()
	if err != nil {
		return fmt.Errorf("postgres SSLRequest on %s: %w", s.t, w.frameError(0, err))
	}
	e, ok := msg.(*pgproto3.ErrorResponse)
	if !ok {
		return fmt.Errorf("postgres SSLRequest on %s: %w: answered %T", s.t, errNotPG, msg)
	}
	s.serverErr = newServerError(e)
	return nil
}

// startup sends a StartupMessage for db and reads the answer. No password
// is ever sent: an authentication request ends the exchange.
func (s *session) startup(db string) (startupReply, error) {
	s.conn.Step("startup " + db)
	if _, err := s.conn.Write(startupMessage(db)); err != nil {
		return startupReply{}, fmt.Errorf("postgres startup on %s: %w", s.t, err)
	}
	rep, err := readStartup(s.w)
	if err != nil {
		return rep, fmt.Errorf("postgres startup on %s: %w", s.t, err)
	}
	return rep, nil
}

// query runs one simple Query; step names it in the evidence.
func (s *session) query(step, sql string) (queryResult, error) {
	s.conn.Step(step)
	s.w.fe.Send(&pgproto3.Query{String: sql})
	if err := s.w.fe.Flush(); err != nil {
		return queryResult{}, fmt.Errorf("postgres %s on %s: %w", step, s.t, err)
	}
	cols, value := maxCols, maxValue
	if s.sample {
		cols, value = sampleCols, sampleValueBytes
	}
	res, err := readQueryCapped(s.w, cols, value)
	if err != nil {
		return res, fmt.Errorf("postgres %s on %s: %w", step, s.t, err)
	}
	return res, nil
}

// close ends the session: Terminate first when the server is ready for
// queries, so it logs a clean disconnect rather than an aborted one.
func (s *session) close(ready bool) []gown.Evidence {
	if s == nil || s.closed {
		return nil
	}
	s.closed = true
	if ready {
		s.conn.Step("Terminate")
		s.w.fe.Send(&pgproto3.Terminate{})
		s.w.fe.Flush() // best effort: the connection closes either way
	}
	ev := s.conn.Evidence()
	s.conn.Close()
	return ev
}

// kept is a ready session the probe left open for the sampler
// (probe.Keep): the last one the probe used, logged in to db.
type kept struct {
	s  *session
	db string
}

// Close ends the kept session, if the sampler has not.
func (k *kept) Close() error {
	k.s.close(true)
	return nil
}
