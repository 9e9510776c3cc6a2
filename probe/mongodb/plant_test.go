package mongodb

import (
	"bufio"
	"crypto/tls"
	"net"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// writer is the test's own MongoDB client, framing commands by hand with
// the package's framing functions, for the capture of real replies (the
// test bed plants the data).
type writer struct {
	c  net.Conn
	br *bufio.Reader
	id int32
}

func dialWriter(t *testing.T, addr string, useTLS bool) *writer {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second}
	var c net.Conn
	var err error
	if useTLS {
		c, err = tls.DialWithDialer(d, "tcp", addr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // a throwaway test certificate
	} else {
		c, err = d.Dial("tcp", addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &writer{c: c, br: bufio.NewReader(c)}
}

// try sends cmd to db and returns the reply, refused or not.
func (w *writer) try(t *testing.T, db string, cmd bson.D) bson.Raw {
	t.Helper()
	w.id++
	body, err := bson.Marshal(append(append(bson.D(nil), cmd...), bson.E{Key: "$db", Value: db}))
	if err != nil {
		t.Fatal(err)
	}
	w.c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := w.c.Write(encodeMsg(w.id, body)); err != nil {
		t.Fatal(err)
	}
	h, payload, err := readMessage(w.br, 16<<20)
	if err == nil {
		err = checkReply(h, w.id, opMsg)
	}
	if err != nil {
		t.Fatalf("%s on %s: %v", cmd[0].Key, db, err)
	}
	doc, err := parseMsg(h, payload)
	if err != nil {
		t.Fatalf("%s on %s: %v", cmd[0].Key, db, err)
	}
	return doc
}
