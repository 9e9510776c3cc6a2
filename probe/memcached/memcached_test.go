package memcached

import (
	"context"
	"errors"
	"maps"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
)

// Replies as memcached 1.6.18 sends them (the binary ones match
// testdata/sasl-1.6.18.bin byte for byte; see TestRespMatchesCapture).
var (
	saslMechs    = resp(opSASLList, statusOK, "", "PLAIN")
	saslVersion  = resp(opVersion, statusOK, "", "1.6.18")
	saslStatDeny = resp(opStat, statusAuthError, "", "Auth failure.")
	unknownCmd   = resp(opSASLList, statusUnknownCmd, "", "Unknown command")
)

const redisErr = "-ERR unknown command 'stats', with args beginning with: \r\n"

type want struct {
	status  gown.Status
	product string
	version string
	reason  string
	details map[string]string // exactly these details
	inv     *gown.Inventory   // exactly this inventory, nil for none
	steps   []string          // the evidence steps, in order
	errSub  string            // a substring of Result.Error, "" for none
}

func TestProbeVerdicts(t *testing.T) {
	stats, settings := capture(t, "stats-1.6.18.txt"), capture(t, "settings-1.6.18.txt")
	openDetails := map[string]string{
		"limit_maxbytes": "16777216", "curr_connections": "1", "uptime": "205", "total_items": "40",
		"auth_enabled_sasl": "no", "auth_enabled_ascii": "no", "maxconns": "1024",
		"binding_protocol": "auto-negotiate", "flush_enabled": "yes",
	}
	openInv := &gown.Inventory{Databases: []gown.Database{{Name: "cache", Items: 40, Bytes: 2860}}, Items: 40, Bytes: 2860}
	tests := []struct {
		name string
		srv  fake
		want want
	}{
		{"open", fake{text: map[string]string{"stats": stats, "stats settings": settings}}, want{
			status: gown.StatusOpen, product: "memcached", version: "1.6.18", reason: "stats answered without authentication",
			details: openDetails, inv: openInv, steps: []string{"stats", "stats settings"},
		}},
		{"open, stats settings unknown (a proxy)", fake{text: map[string]string{"stats": "STAT version 1.4.5\r\nSTAT curr_items 3\r\nSTAT bytes 99\r\nEND\r\n"}}, want{
			status: gown.StatusOpen, product: "memcached", version: "1.4.5", reason: "stats answered without authentication",
			details: map[string]string{},
			inv:     &gown.Inventory{Databases: []gown.Database{{Name: "cache", Items: 3, Bytes: 99}}, Items: 3, Bytes: 99},
			steps:   []string{"stats", "stats settings"},
		}},
		{"open, counter not a number", fake{text: map[string]string{"stats": "STAT curr_items -1\r\nSTAT bytes 18446744073709551615\r\nEND\r\n"}}, want{
			status: gown.StatusOpen, product: "memcached", reason: "stats answered without authentication",
			details: map[string]string{},
			inv:     &gown.Inventory{Databases: []gown.Database{{Name: "cache", Bytes: 1<<64 - 1}}, Bytes: 1<<64 - 1},
			steps:   []string{"stats", "stats settings"}, errSub: `curr_items "-1" is not a count`,
		}},
		{"ascii auth", fake{raw: "CLIENT_ERROR unauthenticated\r\n"}, want{
			status: gown.StatusAuthRequired, product: "memcached",
			reason:  "stats refused with CLIENT_ERROR unauthenticated (ASCII authentication)",
			details: map[string]string{"auth_enabled_ascii": "yes"}, steps: []string{"stats"},
		}},
		{"SASL", fake{binary: map[byte]string{opSASLList: saslMechs, opVersion: saslVersion, opStat: saslStatDeny}}, want{
			status: gown.StatusAuthRequired, product: "memcached", version: "1.6.18",
			reason:  "binary stat refused before SASL authentication",
			details: map[string]string{"sasl_mechanisms": "PLAIN"},
			steps:   []string{"stats", "SASL LIST MECHS", "VERSION", "stat"},
		}},
		{"SASL offered, stat unanswered", fake{binary: map[byte]string{opSASLList: saslMechs, opVersion: saslVersion}}, want{
			status: gown.StatusAuthRequired, product: "memcached", version: "1.6.18",
			reason:  "text commands dropped and SASL offered in the binary protocol",
			details: map[string]string{"sasl_mechanisms": "PLAIN"},
			steps:   []string{"stats", "SASL LIST MECHS", "VERSION", "stat"}, errSub: "memcached stat on 127.0.0.1",
		}},
		{"binary only, no SASL", fake{binary: map[byte]string{opSASLList: unknownCmd, opStat: capture(t, "binstat-1.6.18.bin")}}, want{
			status: gown.StatusOpen, product: "memcached", version: "1.6.18", reason: "binary stat answered without authentication",
			details: map[string]string{"limit_maxbytes": "16777216", "curr_connections": "1", "uptime": "213", "total_items": "40"},
			inv:     openInv, steps: []string{"stats", "SASL LIST MECHS", "stat"},
		}},
		{"bare ERROR", fake{text: map[string]string{}}, want{
			status: gown.StatusUnknown, reason: "stats answered with a bare ERROR: stats disabled, a proxy, or not memcached",
			steps: []string{"stats"},
		}},
		{"SERVER_ERROR", fake{raw: "SERVER_ERROR out of memory\r\n"}, want{
			status: gown.StatusUnknown, product: "memcached", reason: "stats refused with SERVER_ERROR",
			details: map[string]string{"reply": "SERVER_ERROR out of memory"}, steps: []string{"stats"},
		}},
		{"binary stats past the cap", fake{binary: map[byte]string{opSASLList: unknownCmd, opStat: strings.Repeat(resp(opStat, 0, "k", "1"), 600)}}, want{
			status: gown.StatusUnknown, product: "memcached", reason: "binary protocol answered without SASL, but stat could not be read",
			steps: []string{"stats", "SASL LIST MECHS", "stat"}, errSub: "more than 500 binary stats: reply exceeds the read cap",
		}},
		{"text dropped, binary answered in text", fake{binary: map[byte]string{opSASLList: "ERROR\r\n"}}, want{
			status: gown.StatusNotService, reason: "answered with a text line, not memcached", steps: []string{"stats", "SASL LIST MECHS"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := probeTarget(t, tc.srv.start(t))
			if err != nil {
				t.Fatalf("Probe: %v", err)
			}
			check(t, r, tc.want)
		})
	}
}

// TestProbeNotMemcached covers peers that answer, but not as memcached.
func TestProbeNotMemcached(t *testing.T) {
	tests := []struct {
		name string
		srv  fake
		want want
	}{
		{"Redis", fake{raw: redisErr}, want{
			status: gown.StatusNotService, reason: "answered with a Redis error, not memcached", steps: []string{"stats"},
		}},
		{"RESP", fake{raw: "+OK\r\n"}, want{
			status: gown.StatusNotService, reason: "answered with a RESP reply, not memcached", steps: []string{"stats"},
		}},
		{"HTTP", fake{raw: "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"}, want{
			status: gown.StatusNotService, reason: "answered with HTTP, not memcached", steps: []string{"stats"},
		}},
		{"TLS alert", fake{raw: "\x15\x03\x01\x00\x02\x02\x46"}, want{
			status: gown.StatusNotService, reason: "answered with a TLS record, not memcached", steps: []string{"stats"},
		}},
		{"garbage without a line end", fake{raw: strings.Repeat("\x00\xff\x13", 700)}, want{
			status: gown.StatusNotService, reason: "answered with binary data, not memcached", steps: []string{"stats"},
		}},
		{"a text banner", fake{raw: "220 mail.example.org ESMTP\r\n"}, want{
			status: gown.StatusNotService, reason: "answered with a text line, not memcached", steps: []string{"stats"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := probeTarget(t, tc.srv.start(t))
			if err != nil {
				t.Fatalf("Probe: %v", err)
			}
			check(t, r, tc.want)
		})
	}
}

func TestProbeErrors(t *testing.T) {
	tests := []struct {
		name string
		srv  fake
		is   error
	}{
		{"endless STAT lines stop at the cap", fake{stream: "STAT curr_items 1\r\n"}, gown.ErrReplyTooLarge},
		{"a STAT line past the line cap", fake{raw: "STAT version " + strings.Repeat("9", 4000) + "\r\nEND\r\n"}, gown.ErrReplyTooLarge},
		{"binary body past the cap", fake{binary: map[byte]string{opSASLList: resp(opSASLList, 0, "", strings.Repeat("M", 2000))}}, gown.ErrReplyTooLarge},
		{"silent", fake{silent: true}, errTimeout},
		{"END missing", fake{raw: "STAT version 1.6.18\r\n"}, errEOF},
		{"bad line among STAT lines", fake{raw: "STAT version 1.6.18\r\nbogus\r\nEND\r\n"}, gown.ErrProtocol},
		{"dropped twice", fake{binary: map[byte]string{}}, errSilent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			r, err := probeTarget(t, tc.srv.start(t))
			if r != nil || err == nil {
				t.Fatalf("Probe = %+v, %v; want no result and an error", r, err)
			}
			if !matches(err, tc.is) {
				t.Fatalf("Probe error = %v; want %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), "memcached ") || !strings.Contains(err.Error(), "127.0.0.1:") {
				t.Errorf("error %q does not name the operation and the target", err)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("Probe took %s", d)
			}
		})
	}
}

// Markers for errors the standard library reports in several forms.
var (
	errTimeout = errors.New("timeout")
	errEOF     = errors.New("eof")
)

func matches(err, want error) bool {
	var ne net.Error
	switch want {
	case errTimeout:
		return errors.As(err, &ne) && ne.Timeout()
	case errEOF:
		return strings.Contains(err.Error(), "EOF")
	}
	return errors.Is(err, want)
}

// TestProbeStopsAtDeadline checks that a silent peer costs no more than the
// caller's deadline, even with a long per-read timeout.
func TestProbeStopsAtDeadline(t *testing.T) {
	tg := fake{silent: true}.start(t)
	d, err := probe.NewDialer(probe.DialerConfig{IOTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	r, err := New().Probe(ctx, tg, d)
	if r != nil || err == nil {
		t.Fatalf("Probe = %+v, %v", r, err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("Probe returned after %s, past the 300ms deadline", el)
	}
}

func TestProbeClosedPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tg := fake{}.start(t)
	tg.Port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	_, err = probeTarget(t, tg)
	var de *probe.DialError
	if !errors.As(err, &de) || de.Status != gown.StatusClosed {
		t.Fatalf("Probe error = %v; want a DialError with status closed", err)
	}
}

func TestStatsFillsABinaryHeader(t *testing.T) {
	if len(cmdStats) != headerLen || strings.TrimSpace(cmdStats) != "stats" {
		t.Fatalf("cmdStats %q is %d bytes; want stats padded to %d", cmdStats, len(cmdStats), headerLen)
	}
}

func TestProber(t *testing.T) {
	p := New()
	k := p.Kind()
	if k.Name != "memcached" || !slices.Equal(k.Ports, []int{11211}) ||
		!slices.Equal(k.Schemes, []gown.Scheme{{Name: "memcached", Port: 11211}}) || k.HintOnly || k.ServerFirst {
		t.Fatalf("kind %+v", k)
	}
}

// TestRespMatchesCapture keeps the hand-built binary replies honest.
func TestRespMatchesCapture(t *testing.T) {
	if got, want := saslMechs+saslVersion+saslStatDeny, capture(t, "sasl-1.6.18.bin"); got != want {
		t.Fatalf("built %q\ncaptured %q", got, want)
	}
}

func probeTarget(t *testing.T, tg gown.Target) (*gown.Result, error) {
	t.Helper()
	d, err := probe.NewDialer(probe.DialerConfig{IOTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return New().Probe(t.Context(), tg, d)
}

func check(t *testing.T, r *gown.Result, w want) {
	t.Helper()
	if r.Status != w.status || r.Product != w.product || r.Version != w.version || r.Reason != w.reason {
		t.Errorf("got %s %q %q %q; want %s %q %q %q", r.Status, r.Product, r.Version, r.Reason, w.status, w.product, w.version, w.reason)
	}
	if r.Store != "memcached" {
		t.Errorf("Store = %q", r.Store)
	}
	if w.details == nil {
		w.details = map[string]string{}
	}
	if got := r.Details; !maps.Equal(got, w.details) && !(len(got) == 0 && len(w.details) == 0) {
		t.Errorf("Details = %v\nwant %v", got, w.details)
	}
	if !equalInv(r.Inventory, w.inv) {
		t.Errorf("Inventory = %+v; want %+v", r.Inventory, w.inv)
	}
	var steps []string
	for _, e := range r.Evidence {
		steps = append(steps, e.Step)
	}
	if !slices.Equal(steps, w.steps) {
		t.Errorf("evidence steps %q; want %q", steps, w.steps)
	}
	if (w.errSub == "") != (r.Error == "") || !strings.Contains(r.Error, w.errSub) {
		t.Errorf("Error = %q; want one containing %q", r.Error, w.errSub)
	}
	wantTLS := gown.TLSNone
	if r.Status == gown.StatusNotService {
		wantTLS = gown.TLSUnknown
	}
	if r.TLS.Mode != wantTLS {
		t.Errorf("TLS mode %q; want %q", r.TLS.Mode, wantTLS)
	}
}

func equalInv(a, b *gown.Inventory) bool {
	if a == nil || b == nil {
		return a == b
	}
	return slices.Equal(a.Databases, b.Databases) && a.Items == b.Items && a.Bytes == b.Bytes && a.Truncated == b.Truncated
}
