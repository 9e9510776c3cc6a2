package mongodb

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// allowed is every command gown may send. command refuses any other name,
// so no slip in this package can turn into a write on someone's server.
var allowed = map[string]bool{
	"hello":         true,
	"isMaster":      true,
	"buildInfo":     true,
	"listDatabases": true,
	"getLog":        true,
	"dbStats":       true,
}

// Ways an exchange can fail that decide what Probe tries next.
var (
	// errSilent: the peer closed or reset the connection before sending a
	// byte, as a TLS-only server does to a plaintext client.
	errSilent = errors.New("closed without a reply")
	// errNoReply: the peer kept the connection open and said nothing, as a
	// server before 3.6 does with an opcode (OP_MSG) it does not know.
	errNoReply = errors.New("no reply before the deadline")
	// errLegacy: the peer answered OP_MSG with an OP_REPLY, the legacy
	// framing only.
	errLegacy = errors.New("answered OP_MSG with OP_REPLY")
)

// session is one connection's command exchange.
type session struct {
	conn *probe.Conn
	br   *bufio.Reader
	t    gown.Target
	// legacy frames commands as OP_QUERY on "<db>.$cmd", for servers that
	// predate OP_MSG.
	legacy bool
	// secondaryOK asks a replica-set secondary to answer reads instead of
	// refusing them as "not primary".
	secondaryOK bool
	lastID      int32
	head        []byte // first bytes of the first reply, to name a non-MongoDB peer
	// sampling lets the session send sampleReads as well (sample.go);
	// Probe's sessions never do.
	sampling bool
}

func newSession(conn *probe.Conn, t gown.Target, legacy bool) *session {
	return &session{conn: conn, br: bufio.NewReaderSize(conn, 4096), t: t, legacy: legacy}
}

// command runs cmd (its first element names it) against db and returns the
// reply's body. A reply that breaks the framing is an error; a command the
// server refused (ok:0) is not: the caller reads it with refusal.
func (s *session) command(step, db string, cmd bson.D) (bson.Raw, error) {
	if len(cmd) == 0 || !(allowed[cmd[0].Key] || s.sampling && sampleReads[cmd[0].Key]) {
		return nil, fmt.Errorf("mongodb: command %v is not on the read-only list", cmd)
	}
	s.lastID++
	msg, err := s.encode(s.lastID, db, cmd)
	if err != nil {
		return nil, fmt.Errorf("mongodb %s on %s: encode: %w", step, s.t, err)
	}
	s.conn.Step(step)
	_, werr := s.conn.Write(msg)
	if err := s.peek(); err != nil {
		if werr != nil {
			err = werr
		}
		return nil, fmt.Errorf("mongodb %s on %s: %w", step, s.t, s.classify(err))
	}
	doc, err := s.read(s.lastID)
	if err != nil {
		return nil, fmt.Errorf("mongodb %s on %s: %w", step, s.t, err)
	}
	return doc, nil
}

// encode frames cmd as OP_MSG, or as OP_QUERY in legacy mode.
func (s *session) encode(id int32, db string, cmd bson.D) ([]byte, error) {
	if s.legacy {
		q, err := bson.Marshal(cmd)
		if err != nil {
			return nil, err
		}
		m := encodeQuery(id, db+".$cmd", q)
		if s.secondaryOK {
			m[headerLen] |= 1 << 2 // OP_QUERY flag SecondaryOk
		}
		return m, nil
	}
	full := append(append(bson.D(nil), cmd...), bson.E{Key: "$db", Value: db})
	if s.secondaryOK {
		full = append(full, bson.E{Key: "$readPreference", Value: bson.D{{Key: "mode", Value: "primaryPreferred"}}})
	}
	body, err := bson.Marshal(full)
	if err != nil {
		return nil, err
	}
	return encodeMsg(id, body), nil
}

// peek waits for the first byte of the reply and keeps the first bytes of
// the first reply, so that a peer that is not MongoDB can be named.
func (s *session) peek() error {
	if _, err := s.br.Peek(1); err != nil {
		return err
	}
	if s.head == nil {
		head, _ := s.br.Peek(min(s.br.Buffered(), 8))
		s.head = append([]byte{}, head...)
	}
	return nil
}

// classify marks a failure before any reply byte: a silent close or reset
// hints at TLS, silence until the deadline at a pre-3.6 server.
func (s *session) classify(err error) error {
	if s.conn.BytesRead() > 0 {
		return err
	}
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return fmt.Errorf("%w: %w", errSilent, err)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("%w: %w", errNoReply, err)
	}
	return err
}

// read reads the reply to request id and returns its validated body.
func (s *session) read(id int32) (bson.Raw, error) {
	h, payload, err := readMessage(s.br, maxMessage)
	if err != nil {
		return nil, err
	}
	want := int32(opMsg)
	if s.legacy {
		want = opReply
	}
	if err := checkReply(h, id, want); err != nil {
		var oe *opcodeError
		if errors.As(err, &oe) && oe.got == opReply {
			return nil, fmt.Errorf("%w: %w", errLegacy, err)
		}
		return nil, err
	}
	if !s.legacy {
		return parseMsg(h, payload)
	}
	doc, _, err := parseReply(payload)
	// A failed query's document is {$err, code}, which refusal reads too.
	return doc, err
}
