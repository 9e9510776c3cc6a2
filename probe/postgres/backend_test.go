package postgres

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
)

func wireOf(s string) *wire { return newWire(strings.NewReader(s), io.Discard) }

// msg frames a backend message: type byte, length, body.
func msg(typ byte, body string) string {
	n := len(body) + 4
	return string([]byte{typ, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}) + body
}

func TestReadStartup(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		authOK  bool
		ready   bool
		method  string
		code    string
		version string
		wantErr error
	}{
		{name: "trust", in: replyTrust, authOK: true, ready: true, version: "15.18 (Debian 15.18-0+deb12u1)"},
		{name: "scram", in: replySCRAM, method: "scram-sha-256"},
		{name: "md5", in: replyMD5, method: "md5"},
		{name: "password", in: replyPassword, method: "password"},
		{name: "reject", in: replyReject, code: "28000"},
		{name: "no entry", in: replyNoEntry, code: "28000"},
		{name: "no role", in: replyNoRole, authOK: true, code: "28000"},
		{name: "no database", in: replyNoDB, authOK: true, code: "3D000"},
		{name: "scram over tls", in: msg('R', "\x00\x00\x00\x0aSCRAM-SHA-256-PLUS\x00SCRAM-SHA-256\x00\x00"), method: "scram-sha-256"},
		{name: "sspi", in: "R\x00\x00\x00\x08\x00\x00\x00\x09", method: "sspi"},
		{name: "notice first", in: msg('N', "SNOTICE\x00\x00") + replySCRAM, method: "scram-sha-256"},
		{name: "truncated", in: replyTrust[:40], authOK: true, wantErr: io.ErrUnexpectedEOF},
		{name: "empty", in: "", wantErr: io.ErrUnexpectedEOF},
		{name: "http", in: "HTTP/1.1 400 Bad Request\r\n\r\n", wantErr: gown.ErrNotService},
		{name: "huge length", in: "R\x7f\xff\xff\xf0\x00\x00\x00\x00", wantErr: gown.ErrNotService},
		{name: "ready without auth", in: "Z\x00\x00\x00\x05I", wantErr: gown.ErrProtocol},
		{name: "row during startup", in: "R\x00\x00\x00\x08\x00\x00\x00\x00" + msg('D', "\x00\x00"), authOK: true, wantErr: gown.ErrProtocol},
		{name: "garbled second", in: "R\x00\x00\x00\x08\x00\x00\x00\x00R\x00\x00\x00\x02", authOK: true, wantErr: gown.ErrProtocol},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep, err := readStartup(wireOf(c.in))
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("err = %v, want %v", err, c.wantErr)
				}
			} else if err != nil {
				t.Fatalf("err = %v", err)
			}
			if rep.AuthOK != c.authOK || rep.Ready != c.ready || rep.Method != c.method {
				t.Errorf("got authOK=%v ready=%v method=%q, want %v %v %q", rep.AuthOK, rep.Ready, rep.Method, c.authOK, c.ready, c.method)
			}
			if got := rep.Params["server_version"]; got != c.version {
				t.Errorf("server_version = %q, want %q", got, c.version)
			}
			switch {
			case c.code == "" && rep.Err != nil:
				t.Errorf("unexpected server error %v", rep.Err)
			case c.code != "" && (rep.Err == nil || rep.Err.Code != c.code):
				t.Errorf("server error = %v, want code %s", rep.Err, c.code)
			}
		})
	}
}

// TestServerErrorMasked: a server's refusal carries its own words (here a
// crafted FATAL holding an e-mail address, a password and a terminal
// escape: a hostile server's, not one PostgreSQL sends). The parser keeps
// them for the verdict; the result gown scan emits holds none of them,
// since every result passes the engine's text pass on its way out.
func TestServerErrorMasked(t *testing.T) {
	refusal := msg('E', "SFATAL\x00C28000\x00Mno entry for user \"alice@example.org\" password=hunter2 \x1b[31m\x00\x00")
	rep, err := readStartup(wireOf(refusal))
	if err != nil || rep.Err == nil || rep.Err.Code != "28000" || !strings.Contains(rep.Err.Message, "alice@example.org") {
		t.Fatalf("rep = %+v, err = %v: the parser should keep the server's words", rep, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				var head [8]byte
				if _, err := io.ReadFull(c, head[:]); err != nil {
					return
				}
				if binary.BigEndian.Uint32(head[4:]) == 80877103 { // SSLRequest: no TLS here
					c.Write([]byte("N"))
					if _, err := io.ReadFull(c, head[:]); err != nil {
						return
					}
				}
				io.CopyN(io.Discard, c, int64(binary.BigEndian.Uint32(head[:4]))-8)
				c.Write([]byte(refusal))
			}()
		}
	}()
	eng, err := probe.New(probe.Config{Workers: 1}, probe.NewRegistry(New()))
	if err != nil {
		t.Fatal(err)
	}
	ap := netip.MustParseAddrPort(ln.Addr().String())
	in := make(chan gown.Target, 1)
	in <- gown.Target{Host: "127.0.0.1", Addr: ap.Addr(), Port: int(ap.Port()), Hint: "postgres"}
	close(in)
	var r *gown.Result
	if err := eng.Run(t.Context(), in, func(x *gown.Result) { r = x }); err != nil || r == nil {
		t.Fatalf("Run: %v, result %+v", err, r)
	}
	if r.Status != gown.StatusRestricted || r.Details["sqlstate"] != "28000" {
		t.Fatalf("result %+v: want restricted, sqlstate 28000", r)
	}
	out := fmt.Sprint(r.Reason, r.Error, r.Details)
	for _, bad := range []string{"alice", "hunter2", "\x1b["} {
		if strings.Contains(out, bad) {
			t.Errorf("the emitted result still holds %q: %s", bad, out)
		}
	}
	if !strings.Contains(r.Details["error"], "password=[REDACTED]") || !strings.Contains(r.Details["error"], `\x1b[31m`) {
		t.Errorf("error detail %q: want the password masked and the escape shown", r.Details["error"])
	}
}

func TestReadQuery(t *testing.T) {
	res, err := readQuery(wireOf(replyDatabases))
	if err != nil {
		t.Fatal(err)
	}
	dbs := parseDatabases(res.Rows)
	want := []dbRow{{"postgres", 7634279, false}, {"shop", 7757159, false}, {"template0", 7471619, true}, {"template1", 7708007, true}}
	if len(dbs) != len(want) {
		t.Fatalf("dbs = %+v", dbs)
	}
	for i := range want {
		if dbs[i] != want[i] {
			t.Errorf("db %d = %+v, want %+v", i, dbs[i], want[i])
		}
	}
	for in, n := range map[string]string{replyCountPostgres: "0", replyCountShop: "300"} {
		res, err := readQuery(wireOf(in))
		if err != nil || len(res.Rows) != 1 || res.Rows[0][0] != n {
			t.Errorf("count = %+v, %v; want %s", res, err, n)
		}
	}
	// An ERROR inside a query is kept, and reading goes on to ReadyForQuery.
	errReply := msg('E', "SERROR\x00C42501\x00Mpermission denied for function pg_database_size\x00\x00") + msg('Z', "I")
	res, err = readQuery(wireOf(errReply))
	if err != nil || res.Err == nil || res.Err.Code != "42501" {
		t.Errorf("error reply = %+v, %v", res, err)
	}
}

func TestParseCount(t *testing.T) {
	for in, want := range map[string]uint64{"0": 0, "300": 300, "18446744073709551615": 1<<64 - 1, "1e30": 1<<64 - 1, "12.0": 12} {
		if got, err := parseCount(in); err != nil || got != want {
			t.Errorf("parseCount(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "NaN", "x"} {
		if _, err := parseCount(in); err == nil {
			t.Errorf("parseCount(%q) accepted", in)
		}
	}
}

func TestStartupMessage(t *testing.T) {
	got := string(startupMessage("postgres"))
	want := "\x00\x00\x00\x3f\x00\x03\x00\x00user\x00postgres\x00database\x00postgres\x00application_name\x00gown\x00\x00"
	if got != want {
		t.Errorf("startupMessage = %q, want %q", got, want)
	}
	if validDB("x\x00user\x00admin") || validDB("") || !validDB("shop") {
		t.Error("validDB lets a NUL or an empty name through, or refuses a plain one")
	}
}

// FuzzBackend feeds arbitrary bytes as a server's reply stream: the first
// byte is the answer to SSLRequest, the rest the startup reply and, when it
// ends ready, two query replies. Nothing may panic, hang or keep more than
// the caps allow.
func FuzzBackend(f *testing.F) {
	f.Add([]byte("N" + replyTrust + replyDatabases + replyCountShop))
	f.Add([]byte("N" + replyNoDB))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		w := newWire(bytes.NewReader(data[1:]), io.Discard)
		rep, err := readStartup(w)
		if len(rep.Params) > maxParams {
			t.Fatalf("kept %d params", len(rep.Params))
		}
		if err != nil || !rep.Ready {
			judge(rep, defaultDB)
			return
		}
		res, err := readQuery(w)
		if err != nil {
			return
		}
		if len(res.Rows) > maxRows {
			t.Fatalf("kept %d rows", len(res.Rows))
		}
		build(parseDatabases(res.Rows), map[string]uint64{}, false)
		if res, err = readQuery(w); err == nil && len(res.Rows) > 0 && len(res.Rows[0]) > 0 {
			parseCount(res.Rows[0][0])
		}
	})
}
