package testbed

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gownscan/gown/internal/lazyre"
)

// The HTTP stores (OpenSearch, Elasticsearch, PouchDB Server,
// firebase-server) are planted and checked over HTTP. The test bed's own
// requests leave from 127.0.0.1, its checks from Source like a scan's.

// httpReq is one request the test bed sends.
type httpReq struct {
	method, url string
	body        []byte
	ctype       string
	user, pass  string // basic auth when user is set
	header      map[string]string
}

// httpClient returns a client that dials from local (or the default
// address when invalid), with TLS certificates not verified: the test bed's
// certificates are its own, self-signed.
func httpClient(fromSource bool) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	if fromSource {
		d = Dialer()
	}
	return &http.Client{
		Timeout: 2 * time.Minute,
		Transport: &http.Transport{
			DialContext:       d.DialContext,
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // the test bed's own self-signed certificates
			DisableKeepAlives: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// do sends r with c and returns the status and (up to 4 MiB of) the body.
func (r httpReq) do(ctx context.Context, c *http.Client) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, r.method, r.url, bytes.NewReader(r.body))
	if err != nil {
		return 0, nil, err
	}
	if r.body != nil {
		ct := r.ctype
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	if r.user != "" {
		req.SetBasicAuth(r.user, r.pass)
	}
	for k, v := range r.header {
		if k == "Host" {
			req.Host = v // net/http sends req.Host, not a Host header
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", r.method, r.url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	return resp.StatusCode, b, err
}

// must is do that fails unless the status is 2xx.
func (r httpReq) must(ctx context.Context, c *http.Client) ([]byte, error) {
	code, b, err := r.do(ctx, c)
	if err != nil {
		return nil, err
	}
	if code < 200 || code > 299 {
		return b, fmt.Errorf("%s %s: HTTP %d: %.300s", r.method, r.url, code, b)
	}
	return b, nil
}

// getJSON sends GET and decodes a 2xx JSON reply into v.
func getJSON(ctx context.Context, c *http.Client, url string, header map[string]string, v any) (int, error) {
	code, b, err := httpReq{method: "GET", url: url, header: header}.do(ctx, c)
	if err != nil {
		return code, err
	}
	if code >= 200 && code <= 299 && v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			return code, fmt.Errorf("GET %s: %w: %.200s", url, err, b)
		}
	}
	return code, nil
}

// HTTPRequest is one request an HTTP store's own log recorded.
type HTTPRequest struct {
	Client string // the client address where the log gives it ("127.0.0.2"), else ""
	Method string
	Path   string // path and query as sent
	Status int    // the answer's status where the log gives it, else 0
	// Bed marks the test bed's own requests where the log can tell them
	// (OpenSearch's trace and nginx's log show the X-Opaque-Id the bed
	// sets).
	Bed bool
}

func (r HTTPRequest) String() string { return r.Method + " " + r.Path }

// LogSize is where the server's own log (LogPath) ends now: a mark to read
// from, so that a test sees only what came after it.
func (s *Server) LogSize() int64 {
	st, err := os.Stat(s.LogPath)
	if err != nil {
		return 0
	}
	return st.Size()
}

// logSince returns the server's log from byte mark on.
func (s *Server) logSince(mark int64) (string, error) {
	if s.LogPath == "" {
		return "", fmt.Errorf("testbed: %s keeps no request log", s.Name)
	}
	b, err := os.ReadFile(s.LogPath)
	if err != nil {
		return "", fmt.Errorf("testbed: log of %s: %w", s.Name, err)
	}
	if mark > int64(len(b)) {
		mark = int64(len(b))
	}
	return string(b[mark:]), nil
}

// HTTPLog returns the HTTP requests the server's own log recorded after
// mark (0 for all): OpenSearch's and Elasticsearch's HTTP tracer, nginx's
// access log, PouchDB Server's request log, firebase-server's debug log, the
// CouchbaseMock launcher's and a stand-in's request logs. The test bed's
// requests are included (marked Bed where the log can tell).
func (s *Server) HTTPLog(mark int64) ([]HTTPRequest, error) {
	text, err := s.logSince(mark)
	if err != nil {
		return nil, err
	}
	var parse func(string) (HTTPRequest, bool)
	switch s.logFormat {
	case logTracer:
		parse = parseTracer
	case logNginx:
		parse = parseNginx
	case logPouch:
		parse = parsePouch
	case logFirebase:
		parse = parseFirebase
	case logStandIn, logCouchbase:
		parse = parseNginx
	case logWerkzeug:
		parse = parseWerkzeug
	case logFakeGCS:
		parse = parseFakeGCS
	case logAzurite:
		parse = parseAzurite
	default:
		return nil, fmt.Errorf("testbed: %s keeps no HTTP request log", s.Name)
	}
	var out []HTTPRequest
	for line := range strings.Lines(text) {
		if r, ok := parse(strings.TrimRight(line, "\r\n")); ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// Formats of the HTTP stores' request logs.
const (
	logNone = iota
	logTracer
	logNginx
	logPouch
	logFirebase
	logStandIn   // a stand-in's own log, in nginx's format
	logCouchbase // the CouchbaseMock launcher's request log, in nginx's format
	logWerkzeug  // moto_server's request log (werkzeug's)
	logFakeGCS   // fake-gcs-server's access log
	logAzurite   // Azurite's --debug log
)

// tracerLine matches a request line of OpenSearch's (and Elasticsearch's)
// HTTP tracer: "[id][opaque-id][METHOD][uri] received request from
// [Netty4HttpChannel{localAddress=..., remoteAddress=/127.0.0.2:40998}]".
var tracerLine = lazyre.New(`\]\[([^\]]*)\]\[([A-Z]+)\]\[([^\]]*)\] received request from \[.*remoteAddress=/?([^,}\]]+)`)

func parseTracer(line string) (HTTPRequest, bool) {
	m := tracerLine.FindStringSubmatch(line)
	if m == nil {
		return HTTPRequest{}, false
	}
	return HTTPRequest{Client: hostOf(m[4]), Method: m[2], Path: m[3], Bed: m[1] == opaqueID}, true
}

// nginxLine matches the access log format the test bed gives nginx:
// `127.0.0.2 "GET / HTTP/1.1" 401 "gown-testbed"` (the last field is the
// X-Opaque-Id header, "-" when absent).
var nginxLine = lazyre.New(`^(\S+) "([A-Z]+) (\S+)[^"]*" (\d{3}) "([^"]*)"`)

func parseNginx(line string) (HTTPRequest, bool) {
	m := nginxLine.FindStringSubmatch(line)
	if m == nil {
		return HTTPRequest{}, false
	}
	code, _ := strconv.Atoi(m[4])
	return HTTPRequest{Client: m[1], Method: m[2], Path: m[3], Status: code, Bed: m[5] == opaqueID}, true
}

// pouchLine matches express-pouchdb's request log:
// "[date] [info] [<0.000.0>] 127.0.0.2 - - GET /_all_dbs 200".
var pouchLine = lazyre.New(`\] \[<0\.000\.0>\] (\S+) - - ([A-Z]+) (\S+) (\d{3})$`)

func parsePouch(line string) (HTTPRequest, bool) {
	m := pouchLine.FindStringSubmatch(line)
	if m == nil {
		return HTTPRequest{}, false
	}
	code, _ := strconv.Atoi(m[4])
	return HTTPRequest{Client: strings.TrimPrefix(m[1], "::ffff:"), Method: m[2], Path: m[3], Status: code}, true
}

// firebaseLine matches firebase-server's debug line for a REST request,
// "firebase-server GET /users +0ms" (with a date first when not on a
// terminal). It logs the path without ".json" and no client address.
var firebaseLine = lazyre.New(`firebase-server ([A-Z]+) (/\S*)`)

func parseFirebase(line string) (HTTPRequest, bool) {
	m := firebaseLine.FindStringSubmatch(line)
	if m == nil {
		return HTTPRequest{}, false
	}
	return HTTPRequest{Method: m[1], Path: m[2]}, true
}

// hostOf strips the port from "127.0.0.2:40998" (or "[::1]:5").
func hostOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// LogName says which of the server's own logs LogPath is.
func (s *Server) LogName() string {
	switch s.logFormat {
	case logTracer:
		return s.Kind + " HTTP tracer"
	case logNginx:
		return "nginx access log"
	case logPouch:
		return "PouchDB request log"
	case logFirebase:
		return "firebase-server debug log"
	case logStandIn:
		return "stand-in request log"
	case logCouchbase:
		return "CouchbaseMock request log"
	case logWerkzeug:
		return "moto request log"
	case logFakeGCS:
		return "fake-gcs-server access log"
	case logAzurite:
		return "Azurite debug log"
	}
	switch s.Kind {
	case "mongodb":
		return "FerretDB debug log"
	case "mqtt":
		return "mosquitto debug log"
	case "etcd":
		return "etcd debug log"
	}
	return "server log"
}

// settleLog waits until the server's own log has stopped growing: servers
// log a request as they finish answering it, so the lines of the startup
// check may trail its answers, and a mark (LogSize) taken too early would
// count them as a scan's.
func (s *Server) settleLog(ctx context.Context) {
	if s.LogPath == "" {
		return
	}
	last, still := s.LogSize(), 0
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline) && still < 3; {
		select {
		case <-ctx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
		if n := s.LogSize(); n == last {
			still++
		} else {
			last, still = n, 0
		}
	}
}
