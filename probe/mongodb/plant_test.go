package mongodb

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// writer is the test's own MongoDB client. It plants data, which takes
// insert commands; gown's session refuses every command off its read-only
// list, so the tests frame their writes here, by hand, with the package's
// framing functions.
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

// run sends cmd to db and fails the test unless the server says ok.
func (w *writer) run(t *testing.T, db string, cmd bson.D) bson.Raw {
	t.Helper()
	doc := w.try(t, db, cmd)
	if e := refusal(doc); e != nil {
		t.Fatalf("%s on %s: %s %q", cmd[0].Key, db, e, e.msg)
	}
	return doc
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

// insert writes n generated documents into db.coll.
func (w *writer) insert(t *testing.T, db, coll string, n int, gen func(i int) bson.D) {
	t.Helper()
	const batch = 100
	for start := 0; start < n; start += batch {
		var docs bson.A
		for i := start; i < min(n, start+batch); i++ {
			docs = append(docs, gen(i))
		}
		w.run(t, db, bson.D{{Key: "insert", Value: coll}, {Key: "documents", Value: docs}})
	}
}

// ransomNote is the text of the planted ransom-looking database's one
// document, as found on wiped servers.
const ransomNote = "All your data is backed up. Send 0.05 BTC to 1BoatSLRHtKNngkdXEeobR76b53LETtpyT, contact restore@proton.example"

// plant fills a server with the test data and returns the documents planted
// per database.
func plant(t *testing.T, addr string, useTLS bool) map[string]uint64 {
	t.Helper()
	w := dialWriter(t, addr, useTLS)
	w.insert(t, "shop", "customers", 200, func(i int) bson.D {
		return bson.D{{Key: "_id", Value: i}, {Key: "name", Value: fmt.Sprintf("Customer %d", i)},
			{Key: "email", Value: fmt.Sprintf("customer%d@shop.example", i)}}
	})
	w.insert(t, "shop", "orders", 350, func(i int) bson.D {
		return bson.D{{Key: "_id", Value: i}, {Key: "customer", Value: i % 200}, {Key: "total", Value: float64(i%97) + 0.5}}
	})
	w.insert(t, "crm", "leads", 75, func(i int) bson.D {
		return bson.D{{Key: "_id", Value: i}, {Key: "company", Value: fmt.Sprintf("Lead %d Ltd", i)}}
	})
	w.insert(t, "READ_ME_TO_RECOVER_YOUR_DATA", "README", 1, func(int) bson.D {
		return bson.D{{Key: "content", Value: ransomNote}}
	})
	return map[string]uint64{"shop": 550, "crm": 75, "READ_ME_TO_RECOVER_YOUR_DATA": 1}
}
