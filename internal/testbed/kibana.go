package testbed

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gownscan/gown"
)

// The kibana configurations are STAND-INS, NOT Kibana. No real Kibana can
// be had here: Debian has no kibana package, neither Maven Central nor the
// Go module proxy carries a runnable Kibana server, and npm's "kibana"
// (5.1.1, the last published) is the development source tree (grunt build,
// node 6.9.0 pinned) whose install needs a git dependency from outside the
// registries. Each stand-in is a loopback listener of the test bed's own
// process (Server.StandIn, "standin" in its name) that answers GET
// /api/status with one reply Kibana documents, byte for byte the replies
// probe/kibana's unit tests replay, and any other request with Kibana's 404.
// It keeps a request log in nginx's format (HTTPLog), so read-only proofs
// work on it as on a real server.

// kibanaVariant is one stand-in: what it replays and the verdict that
// reply means.
type kibanaVariant struct {
	name  string
	want  gown.Status
	code  int    // the status of reply
	reply string // the raw HTTP reply to GET /api/status
}

// Kibana's documented replies to GET /api/status.
var (
	// Kibana 8 with security off: the full status JSON (Elastic's status
	// API reference, trimmed): anyone reads name, version and status.
	kibanaOpen = kibanaJSON(200, `{"name":"kibana-host","uuid":"5b2de169-2785-441b-ae8c-186a1936b17d","version":{"number":"8.15.0","build_hash":"3bd9b5b4ab4e8aa4b3a1a7cb2e2cf3e0d1a2f4e5","build_number":76360,"build_snapshot":false,"build_flavor":"default","build_date":"2024-08-05T10:05:34.233Z"},"status":{"overall":{"level":"available","summary":"All services and plugins are available"},"core":{"elasticsearch":{"level":"available","summary":"Elasticsearch is available"},"savedObjects":{"level":"available","summary":"SavedObjects service has completed migrations and is available"}},"plugins":{}},"metrics":{"last_updated":"2024-08-20T10:00:00.000Z","collection_interval_in_millis":5000}}`,
		"kibana-host")
	// Kibana 7/8 with security on: API routes answer 401 with Boom's
	// 66-byte error body (Kibana's own debug log shows "GET /api/... 401
	// ... 66.0B").
	kibanaSecured = kibanaJSON(401, `{"statusCode":401,"error":"Unauthorized","message":"Unauthorized"}`, "kibana-host")
	// Kibana 8 with security on and status.allowAnonymous: the minimal
	// response Elastic's API reference says unauthenticated callers get.
	kibanaRedacted = kibanaJSON(200, `{"status":{"overall":{"level":"available"}}}`, "")
	// Kibana 5.1 with X-Pack security: /api/status redirects to the login
	// page (elastic/kibana#9745 quotes this reply, there under a base path).
	kibanaLogin = "HTTP/1.1 302 Found\r\nlocation: /login?next=%2Fapi%2Fstatus\r\nkbn-name: kibana\r\nkbn-version: 5.1.1\r\n" +
		"cache-control: no-cache\r\ncontent-length: 0\r\nConnection: close\r\n\r\n"
	// Kibana's 404 for any other path or method.
	kibanaNotFound = kibanaJSON(404, `{"statusCode":404,"error":"Not Found","message":"Not Found"}`, "kibana-host")
)

// kibanaJSON builds a reply the way Kibana's HTTP server sends one.
func kibanaJSON(code int, body, name string) string {
	h := fmt.Sprintf("HTTP/1.1 %d %s\r\n", code, http.StatusText(code))
	if name != "" {
		h += "kbn-name: " + name + "\r\n"
	}
	return h + fmt.Sprintf("content-type: application/json; charset=utf-8\r\ncache-control: private, no-cache, no-store, must-revalidate\r\n"+
		"content-length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
}

func kibanaVariants() []kibanaVariant {
	return []kibanaVariant{
		{name: "kibana-standin-open", want: gown.StatusOpen, code: 200, reply: kibanaOpen},
		{name: "kibana-standin-secured", want: gown.StatusAuthRequired, code: 401, reply: kibanaSecured},
		{name: "kibana-standin-login", want: gown.StatusAuthRequired, code: 302, reply: kibanaLogin},
		{name: "kibana-standin-redacted", want: gown.StatusRestricted, code: 200, reply: kibanaRedacted},
	}
}

func kibanaConfigs() []config {
	var out []config
	for _, v := range kibanaVariants() {
		out = append(out, config{name: v.name, kind: "kibana", start: func(ctx context.Context, log io.Writer, s *Server) error {
			return startKibanaStandIn(ctx, log, s, v)
		}})
	}
	return out
}

// startKibanaStandIn listens on a free loopback port in this process and
// serves v until the bed stops.
func startKibanaStandIn(_ context.Context, log io.Writer, s *Server, v kibanaVariant) error {
	began := time.Now()
	var err error
	if s.dir, err = tempDir(s.Name); err != nil {
		return err
	}
	s.LogPath, s.logFormat, s.StandIn = filepath.Join(s.dir, "requests.log"), logStandIn, true
	f, err := os.OpenFile(s.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("testbed: %w", err)
	}
	ln, err := net.Listen("tcp", netip.AddrPortFrom(loopback, 0).String())
	if err != nil {
		f.Close()
		return fmt.Errorf("testbed: %s: %w", s.Name, err)
	}
	s.Addr = ln.Addr().(*net.TCPAddr).AddrPort()
	st := &standIn{ln: ln, log: f, v: v, conns: map[net.Conn]bool{}}
	st.wg.Add(1)
	go st.serve()
	s.stopMore = st.stop
	// The listener is this process's own: the kernel must say so too.
	if !holdsListener(os.Getpid(), s.Addr) {
		return fmt.Errorf("testbed: %s: the kernel shows no listener of this process on %s", s.Name, s.Addr)
	}
	s.Want = Truth{Status: v.want, TLS: gown.TLSNone}
	fmt.Fprintf(log, "testbed: %s: STAND-IN (not Kibana) replaying HTTP %d for GET /api/status on %s, ready in %s\n",
		s.Name, v.code, s.Addr, time.Since(began).Round(time.Microsecond))
	return nil
}

// standIn is one stand-in's listener and the connections it serves.
type standIn struct {
	ln    net.Listener
	v     kibanaVariant
	wg    sync.WaitGroup
	mu    sync.Mutex
	log   *os.File
	conns map[net.Conn]bool
	done  bool
}

// serve accepts until the listener is closed.
func (st *standIn) serve() {
	defer st.wg.Done()
	for {
		c, err := st.ln.Accept()
		if err != nil {
			return
		}
		st.mu.Lock()
		if st.done {
			st.mu.Unlock()
			c.Close()
			return
		}
		st.conns[c] = true
		st.wg.Add(1)
		st.mu.Unlock()
		go st.answer(c)
	}
}

// answer reads one request and replays the variant's reply to GET
// /api/status, Kibana's 404 to anything else, then closes: every reply
// says Connection: close.
func (st *standIn) answer(c net.Conn) {
	defer st.wg.Done()
	defer func() {
		st.mu.Lock()
		delete(st.conns, c)
		st.mu.Unlock()
		c.Close()
	}()
	// A client that sends nothing must not hold the bed's Stop.
	c.SetDeadline(time.Now().Add(10 * time.Second))
	req, err := http.ReadRequest(bufio.NewReader(c))
	if err != nil {
		return
	}
	reply, code := kibanaNotFound, http.StatusNotFound
	if req.Method == http.MethodGet && req.URL.Path == "/api/status" {
		reply, code = st.v.reply, st.v.code
	}
	client, _, _ := net.SplitHostPort(c.RemoteAddr().String())
	opaque := req.Header.Get("X-Opaque-Id")
	if opaque == "" {
		opaque = "-"
	}
	st.mu.Lock()
	fmt.Fprintf(st.log, "%s %q %d %q\n", client, req.Method+" "+req.RequestURI+" "+req.Proto, code, opaque)
	st.mu.Unlock()
	io.WriteString(c, reply)
}

// stop closes the listener and every open connection, waits for the
// goroutines, and closes the log.
func (st *standIn) stop() error {
	st.mu.Lock()
	st.done = true
	err := st.ln.Close()
	for c := range st.conns {
		c.Close()
	}
	st.mu.Unlock()
	st.wg.Wait()
	return errors.Join(err, st.log.Close())
}

// checkKibana asks GET /api/status from Source, as a scan does, and checks
// that the answer means the truth's verdict: the version to anyone (open),
// only the overall level (restricted), 401 or a redirect to the login page
// (auth-required).
func (s *Server) checkKibana(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, "GET", s.baseURL()+"/api/status", nil)
	if err != nil {
		return err
	}
	req.Header.Set("X-Opaque-Id", opaqueID)
	resp, err := httpClient(true).Do(req)
	if err != nil {
		return fmt.Errorf("testbed: %s: %w", s.Name, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("testbed: %s: GET /api/status: %w", s.Name, err)
	}
	var st struct {
		Version *struct {
			Number string `json:"number"`
		} `json:"version"`
		Status struct {
			Overall struct {
				Level string `json:"level"`
			} `json:"overall"`
		} `json:"status"`
	}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, &st); err != nil {
			return fmt.Errorf("testbed: %s: GET /api/status: %w", s.Name, err)
		}
	}
	var ok bool
	switch code := resp.StatusCode; s.Want.Status {
	case gown.StatusOpen:
		ok = code == http.StatusOK && st.Version != nil && st.Version.Number != ""
	case gown.StatusRestricted:
		ok = code == http.StatusOK && st.Version == nil && st.Status.Overall.Level != ""
	case gown.StatusAuthRequired:
		ok = code == http.StatusUnauthorized ||
			code == http.StatusFound && strings.HasPrefix(resp.Header.Get("Location"), "/login?")
	}
	if !ok {
		return fmt.Errorf("testbed: %s: GET /api/status answered %d %.200s, truth %s", s.Name, resp.StatusCode, b, s.Want.Status)
	}
	return nil
}
