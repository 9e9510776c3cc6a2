package mysql

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/gownscan/gown"
)

func TestReadPacket(t *testing.T) {
	cases := []struct {
		name    string
		in      []byte
		limit   int
		seq     byte
		payload string
		err     error
	}{
		{"ok", []byte("\x03\x00\x00\x05abc"), 10, 5, "abc", nil},
		{"empty", []byte("\x00\x00\x00\x01"), 10, 1, "", nil},
		{"at-limit", []byte("\x03\x00\x00\x00abc"), 3, 0, "abc", nil},
		{"over-limit", []byte("\x04\x00\x00\x00abcd"), 3, 0, "", gown.ErrReplyTooLarge},
		{"multi-packet", []byte("\xff\xff\xff\x00"), maxPacket, 0, "", gown.ErrReplyTooLarge},
		{"huge-no-body", []byte("\xfe\xff\xff\x00"), 1 << 30, 0, "", io.ErrUnexpectedEOF},
		{"truncated-body", []byte("\x05\x00\x00\x00ab"), 10, 0, "", io.ErrUnexpectedEOF},
		{"truncated-header", []byte("\x05\x00"), 10, 0, "", io.ErrUnexpectedEOF},
		{"nothing", nil, 10, 0, "", io.EOF},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			seq, p, err := readPacket(bytes.NewReader(c.in), c.limit)
			if !errors.Is(err, c.err) || (err == nil && (seq != c.seq || string(p) != c.payload)) {
				t.Errorf("readPacket = %d %q %v, want %d %q %v", seq, p, err, c.seq, c.payload, c.err)
			}
		})
	}
}

func TestReadGreeting(t *testing.T) {
	mysql57 := appendPacket(nil, 0, greetingPayload("5.7.44-log", "mysql_native_password", 0x807ff7ff))
	noPlugin := appendPacket(nil, 0, greetingPayload("5.1.73", "", capsMariaDB&^clientPluginAuth))
	cases := []struct {
		name                     string
		in                       []byte
		product, version, plugin string
		errCode                  uint16
		notService               bool
	}{
		{"mariadb-real", realGreeting, "MariaDB", "10.11.19-MariaDB-0+deb12u1", "mysql_native_password", 0, false},
		{"mysql8-sha2", appendPacket(nil, 0, greetingPayload("8.0.36", pluginCachingSHA2, capsMariaDB)), "MySQL", "8.0.36", pluginCachingSHA2, 0, false},
		{"mysql57-log", mysql57, "MySQL", "5.7.44-log", "mysql_native_password", 0, false},
		{"no-plugin-auth", noPlugin, "MySQL", "5.1.73", "mysql_native_password", 0, false},
		{"err-1130", appendPacket(nil, 0, errPayload(1130, "", "Host 'x' is not allowed to connect")), "", "", "", 1130, false},
		{"err-1040-state", appendPacket(nil, 0, errPayload(1040, "08004", "Too many connections")), "", "", "", 1040, false},
		{"protocol-9", appendPacket(nil, 0, append([]byte{9}, "3.22\x00"...)), "", "", "", 0, true},
		{"http", []byte("HTTP/1.0 200 OK\r\n\r\n"), "", "", "", 0, true},
		{"no-version", appendPacket(nil, 0, []byte("\x0a\x00abc")), "", "", "", 0, true},
		{"text-version", appendPacket(nil, 0, []byte("\x0ahello\x00")), "", "", "", 0, true},
		{"cut-after-version", appendPacket(nil, 0, []byte("\x0a8.0.1\x00\x01\x00\x00\x00abcd")), "", "", "", 0, true},
		{"bad-filler", appendPacket(nil, 0, []byte("\x0a8.0.1\x00\x01\x00\x00\x00abcdefghX\xff\xf7")), "", "", "", 0, true},
		{"cut-scramble", realGreeting[:60], "", "", "", 0, true},
		{"err-low-code", appendPacket(nil, 0, errPayload(5, "", "hello there")), "", "", "", 0, true},
		{"err-binary", appendPacket(nil, 0, errPayload(1130, "", "\x00\x01\x02\x03\x04")), "", "", "", 0, true},
		{"empty", appendPacket(nil, 0, nil), "", "", "", 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g, e, err := readGreeting(bytes.NewReader(c.in))
			switch {
			case c.notService:
				if !errors.Is(err, gown.ErrNotService) {
					t.Errorf("err = %v, want not-service", err)
				}
			case c.errCode != 0:
				if err != nil || e == nil || e.Code != c.errCode {
					t.Errorf("got %+v %v, want ERR %d", e, err, c.errCode)
				}
			case err != nil || g == nil:
				t.Errorf("err = %v", err)
			case g.product() != c.product || g.version() != c.version || g.plugin() != c.plugin:
				t.Errorf("got %q %q %q, want %q %q %q", g.product(), g.version(), g.plugin(), c.product, c.version, c.plugin)
			}
		})
	}
}

func TestRealGreetingFields(t *testing.T) {
	g, _, err := readGreeting(bytes.NewReader(realGreeting))
	if err != nil {
		t.Fatal(err)
	}
	if g.ConnID != 3 || g.Caps != capsMariaDB || g.Charset != 8 || g.Status != 2 || string(g.Scramble) != ",'|]?aL9xpHW]NN|F)9$" {
		t.Errorf("greeting = %+v", g)
	}
}

// rowsReader feeds a resultset from bytes, as the session would.
type rowsReader struct{ r io.Reader }

func (b rowsReader) read(limit int) ([]byte, error) {
	_, p, err := readPacket(b.r, limit)
	return p, err
}

func packets(ps ...[]byte) rowsReader {
	var b []byte
	for i, p := range ps {
		b = appendPacket(b, byte(i+1), p)
	}
	return rowsReader{bytes.NewReader(b)}
}

func TestReadResultSet(t *testing.T) {
	big := [3]string{"big", "99999999999999999999999", "18446744073709551615.0000"}
	cases := []struct {
		name      string
		depr      bool
		in        rowsReader
		max       int
		rows      int
		truncated bool
		err       string
	}{
		{"deprecate-eof", true, packets(resultSetPackets(true, appRows...)...), 10, 3, false, ""},
		{"eof", false, packets(resultSetPackets(false, appRows...)...), 10, 3, false, ""},
		{"no-rows", true, packets(resultSetPackets(true)...), 10, 0, false, ""},
		{"capped", true, packets(resultSetPackets(true, appRows...)...), 2, 2, true, ""},
		{"big-numbers", true, packets(resultSetPackets(true, big)...), 10, 1, false, ""},
		{"err", true, packets(errPayload(1142, "42000", "denied")), 10, 0, false, "1142"},
		{"err-mid-rows", true, packets(append(resultSetPackets(true, appRows...)[:5], errPayload(1317, "70100", "interrupted"))...), 10, 0, false, "1317"},
		{"zero-columns", true, packets([]byte{0}), 10, 0, false, "column count"},
		{"too-many-columns", true, packets([]byte{0xFC, 0xFF, 0xFF}), 10, 0, false, "column count"},
		{"missing-eof", false, packets(resultSetPackets(true, appRows...)...), 10, 0, false, "no EOF"},
		{"short-row", true, packets(append(resultSetPackets(true)[:4], []byte{5, 'a'}, []byte{0xFE, 0, 0, 0, 0, 0, 0})...), 10, 0, false, "overruns"},
		{"truncated", true, packets(resultSetPackets(true, appRows...)[:5]...), 10, 0, false, "EOF"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rows, truncated, err := readResultSet(c.in, c.depr, c.max)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Errorf("err = %v, want %q", err, c.err)
				}
				return
			}
			if err != nil || len(rows) != c.rows || truncated != c.truncated {
				t.Fatalf("got %d rows truncated=%v err=%v", len(rows), truncated, err)
			}
			if _, err := inventory(rows, truncated); err != nil {
				t.Errorf("inventory: %v", err)
			}
		})
	}
}

func TestInventoryNumbers(t *testing.T) {
	rows := [][]value{
		{{s: "appdb"}, {s: "49152"}, {s: "8"}},
		{{s: "views_only"}, {null: true}, {null: true}},
		{{s: "huge"}, {s: "99999999999999999999999"}, {s: "1.5000"}},
		{{s: "mysql"}, {s: "100"}, {s: "7"}},
	}
	inv, err := inventory(rows, false)
	if err != nil {
		t.Fatal(err)
	}
	if d := inv.Databases[2]; d.Bytes != 1<<64-1 || d.Items != 1 {
		t.Errorf("huge = %+v, want clamped bytes and 1 item", d)
	}
	if inv.Items != 9 || !inv.Databases[3].System {
		t.Errorf("inventory = %+v", inv)
	}
	if _, err := inventory([][]value{{{s: "x"}, {s: "12ab"}, {s: "1"}}}, false); !errors.Is(err, gown.ErrProtocol) {
		t.Errorf("non-numeric size: err = %v", err)
	}
}

// TestCachingSHA2StandIn replays a MySQL 8.0 login with
// caching_sha2_password. It is a stand-in built from the protocol
// documentation (caching_sha2_password exchanges in the MySQL source docs):
// no MySQL 8 server exists on this machine, only MariaDB, which does not
// ship the plugin.
func TestCachingSHA2StandIn(t *testing.T) {
	fast := func(t *testing.T, c net.Conn) {
		send(t, c, 0, greetingPayload("8.0.36", pluginCachingSHA2, capsMariaDB))
		h := parseHandshake(t, recv(t, c, 1))
		if h.plugin != pluginCachingSHA2 || string(h.auth) != "\x00" {
			t.Errorf("handshake = %+v, want caching_sha2_password and a single NUL", h)
		}
		send(t, c, 2, []byte{hdrMoreData, fastAuthSuccess})
		send(t, c, 3, okPayload())
		serveInventory(t, c, true, appRows...)
	}
	r, err := probeAt(t, replay(t, fast))
	if err != nil || r.Status != gown.StatusOpen || r.Version != "8.0.36" || r.Inventory == nil || r.Inventory.Items != 8 {
		t.Fatalf("fast auth: %+v, %v", r, err)
	}

	// Perform-full-auth: the account has a password. The client answers with
	// the empty password's clear form, one NUL, and the server refuses.
	full := func(user string) handler {
		return func(t *testing.T, c net.Conn) {
			send(t, c, 0, greetingPayload("8.0.36", pluginCachingSHA2, capsMariaDB))
			if h := parseHandshake(t, recv(t, c, 1)); h.user != user {
				t.Errorf("user %q, want %q", h.user, user)
			}
			send(t, c, 2, []byte{hdrMoreData, performFullAuth})
			if p := recv(t, c, 3); string(p) != "\x00" {
				t.Errorf("full auth answer = %q, want one NUL", p)
			}
			send(t, c, 4, errPayload(erAccessDenied, "28000", "Access denied for user (using password: NO)"))
		}
	}
	r, err = probeAt(t, replay(t, full("root"), full("")))
	if err != nil || r.Status != gown.StatusAuthRequired {
		t.Fatalf("full auth: %+v, %v", r, err)
	}
}
