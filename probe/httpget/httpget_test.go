package httpget

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
)

// TestReadReply: what each shape of answer reads as. The cases are the
// ones the three clients this package replaced were tested with.
func TestReadReply(t *testing.T) {
	cases := []struct {
		name, in  string
		status    int
		body      string
		truncated bool
		err       error // nil: the reply reads without error
	}{
		{"length", "HTTP/1.1 200 OK\r\nServer: CouchDB/3.3.3\r\nContent-Length: 2\r\n\r\n{}", 200, "{}", false, nil},
		{"close-delimited", "HTTP/1.1 401 Unauthorized\r\n\r\n{\"error\":\"unauthorized\"}", 401, `{"error":"unauthorized"}`, false, nil},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n[]\r\n0\r\n\r\n", 200, "[]", false, nil},
		{"interim", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1", 200, "1", false, nil},
		{"cut body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}", 200, "{}", true, nil},
		{"over the cap", "HTTP/1.1 200 OK\r\n\r\n" + strings.Repeat("x", MaxBody+10), 200, strings.Repeat("x", MaxBody), true, nil},
		{"go's plain-to-TLS page", "HTTP/1.1 400 Bad Request\r\ncontent-length: 48\r\n\r\nClient sent an HTTP request to an HTTPS server.\n", 400, "Client sent an HTTP request to an HTTPS server.\n", false, ErrTLSAnswer},
		{"tls alert", "\x15\x03\x01\x00\x02\x02\x46", 0, "", false, ErrTLSAnswer},
		{"ssh", "SSH-2.0-OpenSSH_9.2\r\n", 0, "", false, ErrNotHTTP},
		{"redis", "-ERR unknown command\r\n", 0, "", false, gown.ErrNotService},
		{"bad status", "HTTP/1.1 abc\r\n\r\n", 0, "", false, gown.ErrProtocol},
		{"endless 1xx", strings.Repeat("HTTP/1.1 102 Processing\r\n\r\n", 10), 0, "", false, gown.ErrProtocol},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rp, err := ReadReply(strings.NewReader(c.in))
			if (c.err == nil) != (err == nil) || (c.err != nil && !errors.Is(err, c.err)) {
				t.Fatalf("error %v, want %v", err, c.err)
			}
			if c.status == 0 {
				if rp != nil {
					t.Errorf("reply %+v beside error %v", rp, err)
				}
				return
			}
			if rp == nil || rp.Status != c.status || string(rp.Body) != c.body || rp.Truncated != c.truncated || (rp.BodyErr != nil) != c.truncated {
				t.Fatalf("reply %+v", rp)
			}
		})
	}
	rp, _ := ReadReply(strings.NewReader("HTTP/1.1 200 OK\r\n\r\n" + strings.Repeat("x", MaxBody+1)))
	if !errors.Is(rp.BodyErr, gown.ErrReplyTooLarge) {
		t.Errorf("a body over the cap says %v, want ErrReplyTooLarge", rp.BodyErr)
	}
}

// TestHost: the Host header names the target as given, without the
// scheme's own port, and refuses a name that would inject a header.
func TestHost(t *testing.T) {
	cases := []struct {
		t    gown.Target
		tls  bool
		want string
	}{
		{gown.Target{Host: "db.firebaseio.com", Port: 443}, true, "db.firebaseio.com"},
		{gown.Target{Host: "db.firebaseio.com", Port: 8443}, true, "db.firebaseio.com:8443"},
		{gown.Target{Host: "es.example", Port: 80}, false, "es.example"},
		{gown.Target{Host: "es.example", Port: 443}, false, "es.example:443"},
		{gown.Target{Host: "127.0.0.1", Port: 9000}, false, "127.0.0.1:9000"},
		{gown.Target{Host: "::1", Port: 443}, true, "[::1]"},
		{gown.Target{Host: "[::1]", Port: 9200}, false, "[::1]:9200"},
		{gown.Target{Addr: netip.MustParseAddr("127.0.0.5"), Port: 5984}, false, "127.0.0.5:5984"},
		{gown.Target{Host: "a\r\nX-Evil: 1", Port: 443}, true, ""},
		{gown.Target{Host: "a b", Port: 80}, false, ""},
		{gown.Target{Port: 80}, false, ""},
	}
	for _, c := range cases {
		got, err := Host(c.t, c.tls)
		if got != c.want || (c.want == "") != errors.Is(err, gown.ErrBadTarget) {
			t.Errorf("Host(%+v, tls %v) = %q, %v; want %q", c.t, c.tls, got, err, c.want)
		}
	}
}

// TestGet runs the client over real loopback connections: the request as
// it goes on the wire and its evidence, a port that hangs up without a
// word, and one that answers with a TLS record.
func TestGet(t *testing.T) {
	d, err := probe.NewDialer(probe.DialerConfig{IOTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("reply", func(t *testing.T) {
		tg, got := serve(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
		ex, err := Get(t.Context(), d, tg, false, "/_all_dbs")
		if err != nil || ex.Reply.Status != 200 || string(ex.Reply.Body) != "{}" {
			t.Fatalf("Get = %+v, %v", ex, err)
		}
		want := "GET /_all_dbs HTTP/1.1\r\nHost: " + tg.Dial() + "\r\nUser-Agent: gown\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
		if r := <-got; r != want {
			t.Errorf("request %q, want %q", r, want)
		}
		if len(ex.Evidence) != 1 || ex.Evidence[0].Step != "GET /_all_dbs" || !strings.HasPrefix(ex.Evidence[0].Received, `HTTP/1.1 200 OK\r\n`) {
			t.Errorf("evidence %+v", ex.Evidence)
		}
	})
	t.Run("silent", func(t *testing.T) {
		tg, _ := serve(t, "")
		if _, err := Get(t.Context(), d, tg, false, "/"); !errors.Is(err, ErrSilent) {
			t.Errorf("error %v, want ErrSilent", err)
		}
	})
	t.Run("tls record", func(t *testing.T) {
		tg, _ := serve(t, "\x15\x03\x01\x00\x02\x02\x46")
		ex, err := Get(t.Context(), d, tg, false, "/")
		if !errors.Is(err, ErrTLSAnswer) || len(ex.Evidence) != 1 {
			t.Errorf("Get = %+v, %v; want ErrTLSAnswer with the evidence", ex, err)
		}
	})
	t.Run("handshake", func(t *testing.T) {
		tg, _ := serve(t, "HTTP/1.1 200 OK\r\n\r\n")
		if _, err := Get(t.Context(), d, tg, true, "/"); !errors.Is(err, ErrHandshake) {
			t.Errorf("error %v, want ErrHandshake", err)
		}
	})
}

// serve answers one connection with reply once the request's header block
// has arrived, then hangs up; it hands the request to the channel.
func serve(t *testing.T, reply string) (gown.Target, <-chan string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	got := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		var req []byte
		buf := make([]byte, 512)
		for !bytes.Contains(req, []byte("\r\n\r\n")) && !bytes.HasPrefix(req, []byte{0x16}) {
			n, err := c.Read(buf)
			req = append(req, buf[:n]...)
			if err != nil {
				break
			}
		}
		got <- string(req)
		c.Write([]byte(reply))
	}()
	ap := netip.MustParseAddrPort(ln.Addr().String())
	return gown.Target{Host: ap.Addr().String(), Addr: ap.Addr(), Port: int(ap.Port())}, got
}

// FuzzReadReply feeds arbitrary bytes as a server's reply: nothing may
// panic, no body may pass the cap, and a truncated body says why.
func FuzzReadReply(f *testing.F) {
	for _, s := range []string{"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n[]", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", "\x16\x03\x01", "SSH-2.0-x\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		rp, err := ReadReply(bytes.NewReader(raw))
		if rp == nil {
			if err == nil {
				t.Fatal("no reply and no error")
			}
			return
		}
		if len(rp.Body) > MaxBody || rp.Truncated != (rp.BodyErr != nil) {
			t.Fatalf("body %d bytes (cap %d), truncated %v, body error %v", len(rp.Body), MaxBody, rp.Truncated, rp.BodyErr)
		}
	})
}
