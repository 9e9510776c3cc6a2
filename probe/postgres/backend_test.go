package postgres

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/gownscan/gown"
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

func TestServerErrorRedacted(t *testing.T) {
	in := msg('E', "SFATAL\x00C28000\x00Mno entry for user \"alice@example.org\" password=hunter2 \x1b[31m\x00\x00")
	rep, err := readStartup(wireOf(in))
	if err != nil || rep.Err == nil {
		t.Fatalf("rep = %+v, err = %v", rep, err)
	}
	for _, bad := range []string{"alice", "hunter2", "\x1b"} {
		if strings.Contains(rep.Err.Error(), bad) {
			t.Errorf("error text %q still holds %q", rep.Err.Error(), bad)
		}
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
