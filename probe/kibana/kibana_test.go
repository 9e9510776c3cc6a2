package kibana

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"github.com/gownscan/gown/probe/httpget"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
)

// No real Kibana runs here (its server is neither in Debian nor in a
// registry gown's machines reach), so these replies are STAND-INS, written
// from the responses Elastic documents for GET /api/status and its security
// layer, and replayed by a loopback listener.
var (
	// Kibana 8 with security off: the full status JSON (trimmed).
	open8 = reply200(`{"name":"kibana-host","uuid":"5b2de169-2785-441b-ae8c-186a1936b17d","version":{"number":"8.15.0","build_hash":"3bd9b5b4ab4e8aa4b3a1a7cb2e2cf3e0d1a2f4e5","build_number":76360,"build_snapshot":false,"build_flavor":"default","build_date":"2024-08-05T10:05:34.233Z"},"status":{"overall":{"level":"available","summary":"All services and plugins are available"},"core":{"elasticsearch":{"level":"available","summary":"Elasticsearch is available"},"savedObjects":{"level":"available","summary":"SavedObjects service has completed migrations and is available"}},"plugins":{}},"metrics":{"last_updated":"2024-08-20T10:00:00.000Z","collection_interval_in_millis":5000}}`, "kibana-host")
	// Kibana 6.8: status.overall.state instead of level.
	open6 = reply200(`{"name":"kb6","uuid":"0b8a4f3c","version":{"number":"6.8.23","build_hash":"a1b2c3","build_number":20262,"build_snapshot":false},"status":{"overall":{"state":"green","title":"Green","nickname":"Looking good"},"statuses":[]},"metrics":{}}`, "kb6")
	// Kibana 8 with security on and status.allowAnonymous: redacted.
	redacted = reply200(`{"status":{"overall":{"level":"available"}}}`, "")
	// Kibana with security on: the API answers 401 with Boom's error body.
	unauth = "HTTP/1.1 401 Unauthorized\r\nkbn-name: kibana-host\r\ncontent-type: application/json; charset=utf-8\r\ncache-control: private, no-cache, no-store, must-revalidate\r\ncontent-length: 66\r\nConnection: close\r\n\r\n" +
		`{"statusCode":401,"error":"Unauthorized","message":"Unauthorized"}`
	// A proxy or old Kibana sending API visitors to the login page.
	redirect  = "HTTP/1.1 302 Found\r\nlocation: /login?next=%2Fapi%2Fstatus\r\nkbn-name: kibana-host\r\ncontent-length: 0\r\nConnection: close\r\n\r\n"
	notKibana = "HTTP/1.1 404 Not Found\r\ncontent-type: text/html\r\ncontent-length: 9\r\n\r\nnot found"
)

func reply200(body, name string) string {
	h := "HTTP/1.1 200 OK\r\ncontent-type: application/json; charset=utf-8\r\n"
	if name != "" {
		h += "kbn-name: " + name + "\r\n"
	}
	return h + fmt.Sprintf("content-length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
}

func TestProbeStandIn(t *testing.T) {
	cases := []struct {
		name, reply string
		status      gown.Status
		product     string
		version     string
	}{
		{"kibana 8 open", open8, gown.StatusOpen, "Kibana", "8.15.0"},
		{"kibana 6 open", open6, gown.StatusOpen, "Kibana", "6.8.23"},
		{"redacted anonymous status", redacted, gown.StatusRestricted, "Kibana", ""},
		{"security on", unauth, gown.StatusAuthRequired, "Kibana", ""},
		{"redirect to login", redirect, gown.StatusAuthRequired, "Kibana", ""},
		{"other web server", notKibana, gown.StatusNotService, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tg, reqs := standIn(t, c.reply)
			r, err := New().Probe(t.Context(), tg, dialer(t))
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != c.status || r.Product != c.product || r.Version != c.version || r.Reason == "" {
				t.Fatalf("got %s %q %q (%s)", r.Status, r.Product, r.Version, r.Reason)
			}
			if got := reqs(); len(got) != 1 || got[0] != "GET /api/status" {
				t.Fatalf("requests %q, want one GET /api/status", got)
			}
		})
	}
}

func TestProbeNotHTTP(t *testing.T) {
	tg, _ := standIn(t, "\x00\x00\x00\x2a\xff\xfe garbage")
	if r, err := New().Probe(t.Context(), tg, dialer(t)); r != nil || !errors.Is(err, gown.ErrNotService) {
		t.Fatalf("Probe = %+v, %v; want ErrNotService", r, err)
	}
}

// FuzzStatus feeds arbitrary bytes as the reply to GET /api/status: every
// reply gets a verdict. (The strings kept are the server's: the engine's text
// pass bounds them, probe/textpass_test.go.)
func FuzzStatus(f *testing.F) {
	for _, s := range []string{open8, open6, redacted, unauth, redirect, notKibana} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		rp, err := httpget.ReadReply(bytes.NewReader(raw))
		if rp == nil || err != nil {
			return
		}
		r := &gown.Result{}
		verdict(r, rp)
		if r.Status == "" {
			t.Fatalf("verdict %+v", r)
		}
	})
}

// standIn serves reply to every connection and records request lines.
func standIn(t *testing.T, reply string) (gown.Target, func() []string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	var mu sync.Mutex
	var reqs []string
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			if req, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
				mu.Lock()
				reqs = append(reqs, req.Method+" "+req.URL.RequestURI())
				mu.Unlock()
				c.Write([]byte(reply))
			}
			c.Close()
		}
	}()
	ap := l.Addr().(*net.TCPAddr).AddrPort()
	return gown.Target{Host: "127.0.0.1", Addr: ap.Addr(), Port: int(ap.Port())}, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), reqs...)
	}
}

func dialer(t *testing.T) probe.Dialer {
	d, err := probe.NewDialer(probe.DialerConfig{IOTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return d
}
