package mongodb

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// replay is a loopback server that answers each command with a recorded
// reply body, looked up by "<command>.<db>" and then "<command>". A command
// with no reply makes it close the connection. It answers OP_MSG, and
// OP_QUERY on "<db>.$cmd" with OP_REPLY when legacy is set.
type replay struct {
	replies map[string]bson.Raw
	// ignoreMsg makes OP_MSG go unanswered while the connection stays
	// open, as servers before 3.6 do.
	ignoreMsg bool
	legacy    bool
	tlsCfg    *tls.Config // TLS-only when set: plaintext gets closed
	// raw, when set, is sent as is in answer to any first request.
	raw []byte
	// rawFor holds whole reply messages, sent as they are, by command name.
	rawFor map[string][]byte

	mu   sync.Mutex
	seen []bson.Raw // every command body received, in order
}

// fromDir loads the reply bodies captured from FerretDB.
func fromDir(t *testing.T, dir string) map[string]bson.Raw {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "ferretdb", dir, "*.bson"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no captured replies in %s: %v", dir, err)
	}
	out := map[string]bson.Raw{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimSuffix(filepath.Base(f), ".bson")] = b
	}
	return out
}

// doc marshals a stand-in reply.
func doc(t testing.TB, d bson.D) bson.Raw {
	t.Helper()
	b, err := bson.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// start listens on a free loopback port until the test ends.
func (rp *replay) start(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go rp.serve(c)
		}
	}()
	return ln.Addr().String()
}

func (rp *replay) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if rp.tlsCfg != nil {
		tc := tls.Server(c, rp.tlsCfg)
		if tc.Handshake() != nil {
			return // a plaintext client: dropped, as a TLS-only mongod does
		}
		c = tc
	}
	br := bufio.NewReader(c)
	for {
		h, payload, err := readMessage(br, maxMessage)
		if err != nil {
			return
		}
		if rp.raw != nil {
			c.Write(rp.raw)
			return
		}
		out, ok := rp.answer(h, payload)
		if !ok {
			return
		}
		if out == nil {
			continue // unanswered, connection kept open
		}
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}

// answer builds the reply message to one request; nil means no reply.
func (rp *replay) answer(h header, payload []byte) ([]byte, bool) {
	var body bson.Raw
	var db string
	switch h.opCode {
	case opMsg:
		if rp.ignoreMsg {
			return nil, true
		}
		b, err := parseMsg(h, payload)
		if err != nil {
			return nil, false
		}
		body, db = b, str(b, "$db")
	case opQuery:
		if !rp.legacy {
			return nil, false
		}
		ns, q, ok := parseQuery(payload)
		if !ok {
			return nil, false
		}
		body, db = q, strings.TrimSuffix(ns, ".$cmd")
	default:
		return nil, false
	}
	rp.mu.Lock()
	rp.seen = append(rp.seen, body)
	rp.mu.Unlock()
	name := body.Index(0).Key()
	if m, ok := rp.rawFor[name]; ok {
		return m, true
	}
	reply, ok := rp.replies[name+"."+db]
	if !ok {
		if reply, ok = rp.replies[name]; !ok {
			return nil, false
		}
	}
	if h.opCode == opQuery {
		return frameReply(h.requestID, reply), true
	}
	m := encodeMsg(h.requestID+1000, reply)
	binary.LittleEndian.PutUint32(m[8:], uint32(h.requestID))
	return m, true
}

// parseQuery splits an OP_QUERY payload into namespace and query document.
func parseQuery(p []byte) (string, bson.Raw, bool) {
	if len(p) < 4 {
		return "", nil, false
	}
	p = p[4:]
	i := strings.IndexByte(string(p), 0)
	if i < 0 || len(p) < i+1+8+minBSON {
		return "", nil, false
	}
	q := bson.Raw(p[i+1+8:])
	return string(p[:i]), q, q.Validate() == nil
}

// frameReply frames body as an OP_REPLY to request id.
func frameReply(id int32, body []byte) []byte {
	b := make([]byte, headerLen, headerLen+20+len(body))
	putHeader(b, header{length: int32(headerLen + 20 + len(body)), requestID: id + 1000, responseTo: id, opCode: opReply})
	b = binary.LittleEndian.AppendUint32(b, 0) // responseFlags
	b = binary.LittleEndian.AppendUint64(b, 0) // cursorID
	b = binary.LittleEndian.AppendUint32(b, 0) // startingFrom
	b = binary.LittleEndian.AppendUint32(b, 1) // numberReturned
	return append(b, body...)
}

// commands lists the command names the server received.
func (rp *replay) commands() []string {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	var out []string
	for _, b := range rp.seen {
		out = append(out, b.Index(0).Key())
	}
	return out
}

// probeReplay probes a replay server with a short I/O timeout.
func probeReplay(t *testing.T, addr string, tlsHint bool) (*gown.Result, error) {
	t.Helper()
	ap := netip.MustParseAddrPort(addr)
	d, err := probe.NewDialer(probe.DialerConfig{IOTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	return New().Probe(ctx, gown.Target{Host: "db.app.example", Addr: ap.Addr(), Port: int(ap.Port()), TLS: tlsHint}, d)
}

func TestReplayFerretDBOpen(t *testing.T) {
	rp := &replay{replies: fromDir(t, "open")}
	r, err := probeReplay(t, rp.start(t), false)
	if err != nil {
		t.Fatal(err)
	}
	wantVerdict(t, r, gown.StatusOpen, "listDatabases answered without credentials (3 databases)")
	wantFerretDB(t, r)
	want := []gown.Database{
		{Name: "READ_ME_TO_RECOVER_YOUR_DATA", Items: 1, Bytes: 24576},
		{Name: "crm", Items: 75, Bytes: 36864},
		{Name: "shop", Items: 550, Bytes: 126976},
	}
	inv := r.Inventory
	if !equalDBs(inv.Databases, want) || inv.Items != 626 || inv.Bytes != 188416 || inv.Truncated {
		t.Errorf("inventory %+v", inv)
	}
	steps := []string{"hello", "buildInfo", "listDatabases", "dbStats READ_ME_TO_RECOVER_YOUR_DATA", "dbStats crm", "dbStats shop"}
	if got := stepNames(r); strings.Join(got, ",") != strings.Join(steps, ",") {
		t.Errorf("evidence steps %q, want %q", got, steps)
	}
}

func TestReplayFerretDBAuth(t *testing.T) {
	rp := &replay{replies: fromDir(t, "auth")}
	r, err := probeReplay(t, rp.start(t), false)
	if err != nil {
		t.Fatal(err)
	}
	wantVerdict(t, r, gown.StatusAuthRequired, "listDatabases requires authentication (code 13 Unauthorized)")
	if r.Inventory != nil {
		t.Errorf("inventory %+v", r.Inventory)
	}
}

func equalDBs(a, b []gown.Database) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func stepNames(r *gown.Result) []string {
	var out []string
	for _, e := range r.Evidence {
		out = append(out, e.Step)
	}
	return out
}
