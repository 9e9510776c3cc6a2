package testbed

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// mongoConn is the test bed's own MongoDB client: OP_MSG commands framed by
// hand (MongoDB wire protocol, opcode 2013, one body section), enough to
// plant documents and to check a server. It writes; gown's prober never
// does and has its own read-only session.
type mongoConn struct {
	c    net.Conn
	br   *bufio.Reader
	id   int32
	done func() bool
}

const opMsg = 2013

// dialMongo connects to addr, from Source when fromSource (as a scan
// would), over TLS when useTLS.
func dialMongo(ctx context.Context, addr netip.AddrPort, fromSource, useTLS bool) (*mongoConn, error) {
	d := &net.Dialer{Timeout: 5 * time.Second}
	if fromSource {
		d = Dialer()
	}
	c, err := d.DialContext(ctx, "tcp", addr.String())
	if err != nil {
		return nil, fmt.Errorf("mongodb dial %s: %w", addr, err)
	}
	if useTLS {
		tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // the test bed's own certificate
		if err := tc.HandshakeContext(ctx); err != nil {
			c.Close()
			return nil, fmt.Errorf("mongodb TLS handshake with %s: %w", addr, err)
		}
		c = tc
	}
	m := &mongoConn{c: c, br: bufio.NewReader(c)}
	m.done = connDeadline(ctx, c, time.Minute)
	return m, nil
}

func (m *mongoConn) Close() error {
	m.done()
	return m.c.Close()
}

// run sends cmd to db and returns the reply document, refused or not.
func (m *mongoConn) run(db string, cmd bson.D) (bson.Raw, error) {
	m.id++
	body, err := bson.Marshal(append(append(bson.D(nil), cmd...), bson.E{Key: "$db", Value: db}))
	if err != nil {
		return nil, err
	}
	msg := make([]byte, 16, 16+5+len(body))
	binary.LittleEndian.PutUint32(msg[4:], uint32(m.id))
	binary.LittleEndian.PutUint32(msg[12:], opMsg)
	msg = append(msg, 0, 0, 0, 0, 0) // flag bits, then section kind 0
	msg = append(msg, body...)
	binary.LittleEndian.PutUint32(msg[0:], uint32(len(msg)))
	if _, err := m.c.Write(msg); err != nil {
		return nil, fmt.Errorf("mongodb %s: %w", cmd[0].Key, err)
	}
	var head [16]byte
	if _, err := io.ReadFull(m.br, head[:]); err != nil {
		return nil, fmt.Errorf("mongodb %s: %w", cmd[0].Key, err)
	}
	n := binary.LittleEndian.Uint32(head[0:])
	if n < 16+5 || n > 48<<20 || binary.LittleEndian.Uint32(head[12:]) != opMsg {
		return nil, fmt.Errorf("mongodb %s: reply of %d bytes, opcode %d", cmd[0].Key, n, binary.LittleEndian.Uint32(head[12:]))
	}
	rest := make([]byte, n-16)
	if _, err := io.ReadFull(m.br, rest); err != nil {
		return nil, fmt.Errorf("mongodb %s: %w", cmd[0].Key, err)
	}
	if rest[4] != 0 {
		return nil, fmt.Errorf("mongodb %s: reply section kind %d", cmd[0].Key, rest[4])
	}
	doc := bson.Raw(rest[5:])
	if err := doc.Validate(); err != nil {
		return nil, fmt.Errorf("mongodb %s: %w", cmd[0].Key, err)
	}
	return doc, nil
}

// must is run that fails unless the reply says ok: 1.
func (m *mongoConn) must(db string, cmd bson.D) (bson.Raw, error) {
	doc, err := m.run(db, cmd)
	if err != nil {
		return nil, err
	}
	if code, msg, refused := mongoRefusal(doc); refused {
		return doc, fmt.Errorf("mongodb %s on %s: code %d %s", cmd[0].Key, db, code, msg)
	}
	return doc, nil
}

// mongoRefusal reads ok, code and errmsg of a reply.
func mongoRefusal(doc bson.Raw) (code int32, msg string, refused bool) {
	ok := doc.Lookup("ok")
	if f, isF := ok.DoubleOK(); isF && f == 1 {
		return 0, "", false
	}
	if i, isI := ok.Int32OK(); isI && i == 1 {
		return 0, "", false
	}
	code, _ = doc.Lookup("code").Int32OK()
	msg, _ = doc.Lookup("errmsg").StringValueOK()
	return code, msg, true
}

// insert writes docs into db.coll in batches.
func (m *mongoConn) insert(db, coll string, docs []any) error {
	const batch = 200
	for start := 0; start < len(docs); start += batch {
		part := bson.A(docs[start:min(len(docs), start+batch)])
		if _, err := m.must(db, bson.D{{Key: "insert", Value: coll}, {Key: "documents", Value: part}}); err != nil {
			return err
		}
	}
	return nil
}
