package mysql

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
)

// Replayed servers for the probe tests: each listens on a loopback port and
// runs one handler per accepted connection, in order, writing the packets a
// real server would and checking what the client sends.

// realGreeting is the first packet MariaDB 10.11.19 (Debian 12) sent to gown
// on this machine, scramble included.
var realGreeting = []byte("d\x00\x00\x00\n5.5.5-10.11.19-MariaDB-0+deb12u1\x00\x03\x00\x00\x00,'|]?aL9\x00\xfe\xf7\x08\x02\x00\xff\x81\x15\x00\x00\x00\x00\x00\x00\x1d\x00\x00\x00xpHW]NN|F)9$\x00mysql_native_password\x00")

// Capabilities of the replayed servers: MariaDB 10.11's, with and without
// DEPRECATE_EOF and SSL.
const (
	capsMariaDB = 0x81fff7fe
	capsNoDepr  = capsMariaDB &^ clientDeprecateEOF
	capsSSL     = capsMariaDB | clientSSL
)

type handler func(t *testing.T, c net.Conn)

// replay serves handlers on a loopback port and returns the port. A
// connection beyond the handlers fails the test.
func replay(t *testing.T, hs ...handler) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			c, err := l.Accept()
			if err != nil {
				return
			}
			if i >= len(hs) {
				t.Errorf("unexpected connection %d", i+1)
				c.Close()
				continue
			}
			c.SetDeadline(time.Now().Add(30 * time.Second)) // against a hang, not a measure: a loaded CI machine took 6 s for the hostile conversation
			wg.Add(1)
			go func(h handler) { defer wg.Done(); defer c.Close(); h(t, c) }(hs[i])
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

// probeAt runs the prober against a loopback port with a short I/O timeout.
func probeAt(t *testing.T, port int) (*gown.Result, error) {
	t.Helper()
	d, err := probe.NewDialer(probe.DialerConfig{IOTimeout: 500 * time.Millisecond, MaxRead: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	return New().Probe(ctx, gown.Target{Host: "127.0.0.1", Addr: netip.MustParseAddr("127.0.0.1"), Port: port}, d)
}

func send(t *testing.T, c net.Conn, seq byte, payload []byte) {
	t.Helper()
	if _, err := c.Write(appendPacket(nil, seq, payload)); err != nil {
		t.Errorf("server write: %v", err)
	}
}

// recv reads one client packet and checks its sequence id.
func recv(t *testing.T, c net.Conn, seq byte) []byte {
	t.Helper()
	got, p, err := readPacket(c, maxPacket)
	if err != nil {
		t.Errorf("server read: %v", err)
		return nil
	}
	if got != seq {
		t.Errorf("client sequence id %d, want %d", got, seq)
	}
	return p
}

// greetingPayload builds a HandshakeV10 payload.
func greetingPayload(version, plugin string, caps uint32) []byte {
	b := append([]byte{10}, version...)
	b = append(b, 0, 7, 0, 0, 0)
	b = append(b, "abcdefgh"...)
	b = append(b, 0, byte(caps), byte(caps>>8), 45, 2, 0, byte(caps>>16), byte(caps>>24), 21)
	b = append(b, make([]byte, 10)...)
	b = append(b, "ijklmnopqrst\x00"...)
	return append(append(b, plugin...), 0)
}

func okPayload() []byte { return []byte{0x00, 0, 0, 2, 0, 0, 0} }

func errPayload(code uint16, state, msg string) []byte {
	b := binary.LittleEndian.AppendUint16([]byte{0xFF}, code)
	if state != "" {
		b = append(append(b, '#'), state...)
	}
	return append(b, msg...)
}

func lenEnc(s string) []byte { return append([]byte{byte(len(s))}, s...) }

// resultSetPackets builds the reply to inventoryQuery: rows of three values,
// "" standing for NULL.
func resultSetPackets(deprecateEOF bool, rows ...[3]string) [][]byte {
	var rs [][]string
	for _, r := range rows {
		rs = append(rs, r[:])
	}
	return textResultSet(deprecateEOF, []string{"table_schema", "SUM(...)", "SUM(table_rows)"}, rs...)
}

// textResultSet builds a text resultset with the named columns, "" standing
// for NULL.
func textResultSet(deprecateEOF bool, cols []string, rows ...[]string) [][]byte {
	ps := [][]byte{{byte(len(cols))}}
	for _, name := range cols {
		col := append(lenEnc("def"), lenEnc("information_schema")...)
		col = append(append(append(col, lenEnc("tables")...), lenEnc("tables")...), lenEnc(name)...)
		col = append(append(col, lenEnc(name)...), 0x0c, 45, 0, 0, 1, 0, 0xfd, 0, 0, 0, 0, 0)
		ps = append(ps, col)
	}
	eof := []byte{0xFE, 0, 0, 2, 0}
	if !deprecateEOF {
		ps = append(ps, eof)
	}
	for _, r := range rows {
		var row []byte
		for _, v := range r {
			if v == "" {
				row = append(row, 0xFB)
			} else {
				row = append(row, lenEnc(v)...)
			}
		}
		ps = append(ps, row)
	}
	if deprecateEOF {
		eof = []byte{0xFE, 0, 0, 2, 0, 0, 0}
	}
	return append(ps, eof)
}

// handshake describes a HandshakeResponse41 as the server reads it.
type handshake struct {
	caps   uint32
	user   string
	auth   []byte
	plugin string
}

func parseHandshake(t *testing.T, p []byte) handshake {
	t.Helper()
	if len(p) < 34 {
		t.Fatalf("handshake response of %d bytes", len(p))
	}
	h := handshake{caps: binary.LittleEndian.Uint32(p)}
	rest := p[32:]
	user, rest, _ := bytes.Cut(rest, []byte{0})
	h.user = string(user)
	n := int(rest[0])
	h.auth, rest = rest[1:1+n], rest[1+n:]
	plugin, _, _ := bytes.Cut(rest, []byte{0})
	h.plugin = string(plugin)
	return h
}

// serveLogin answers one connection: greeting, then the login reply; when the
// reply is OK it serves the inventory query and expects COM_QUIT.
func serveLogin(caps uint32, wantUser string, reply []byte, rows ...[3]string) handler {
	return func(t *testing.T, c net.Conn) {
		send(t, c, 0, greetingPayload("5.5.5-10.11.19-MariaDB-0+deb12u1", "mysql_native_password", caps))
		h := parseHandshake(t, recv(t, c, 1))
		if h.user != wantUser || len(h.auth) != 0 || h.plugin != "mysql_native_password" || h.caps&clientConnectWithDB != 0 {
			t.Errorf("handshake = %+v, want user %q, empty auth, no CONNECT_WITH_DB", h, wantUser)
		}
		send(t, c, 2, reply)
		if reply[0] == hdrOK {
			serveInventory(t, c, h.caps&clientDeprecateEOF != 0, rows...)
		}
	}
}

func serveInventory(t *testing.T, c net.Conn, deprecateEOF bool, rows ...[3]string) {
	t.Helper()
	q := recv(t, c, 0)
	if string(q) != "\x03"+inventoryQuery {
		t.Errorf("query = %q", q)
	}
	for i, p := range resultSetPackets(deprecateEOF, rows...) {
		send(t, c, byte(i+1), p)
	}
	// The reads: root@% names a table "t" in each user schema listed, and
	// the first SELECT 1 is allowed.
	var tables [][]string
	for _, r := range rows {
		if !systemSchemas[r[0]] {
			tables = append(tables, []string{"root@%", r[0], "t"})
		}
	}
	if len(tables) == 0 {
		tables = [][]string{{"root@%", "", ""}}
	}
	serveReads(t, c, deprecateEOF, tables, true)
	if p := recv(t, c, 0); !bytes.Equal(p, []byte{0x01}) {
		t.Errorf("after the reads client sent %q, want COM_QUIT", p)
	}
}

// serveReads answers readsQuery with rows (account, schema, table) and each
// SELECT 1 that follows: with one row when allowed, else with ERR 1142.
func serveReads(t *testing.T, c net.Conn, deprecateEOF bool, rows [][]string, allowed bool) {
	t.Helper()
	if q := recv(t, c, 0); string(q) != "\x03"+readsQuery {
		t.Errorf("query = %q, want the reads query", q)
	}
	for i, p := range textResultSet(deprecateEOF, []string{"CURRENT_USER()", "table_schema", "table_name"}, rows...) {
		send(t, c, byte(i+1), p)
	}
	for _, r := range rows {
		if r[1] == "" {
			continue
		}
		want := "\x03SELECT 1 FROM `" + r[1] + "`.`" + r[2] + "` LIMIT 1"
		if q := recv(t, c, 0); string(q) != want {
			t.Errorf("query = %q, want %q", q, want)
		}
		if !allowed {
			send(t, c, 1, errPayload(1142, "42000", "SELECT command denied to user ''@'127.0.0.1' for table `"+r[1]+"`.`"+r[2]+"`"))
			continue
		}
		for i, p := range textResultSet(deprecateEOF, []string{"1"}, []string{"1"}) {
			send(t, c, byte(i+1), p)
		}
		return
	}
}

// readAll drains what the client sends until it closes.
func readAll(c net.Conn) { io.Copy(io.Discard, c) }
