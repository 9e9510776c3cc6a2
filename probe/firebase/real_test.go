package firebase

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gownscan/gown"
)

// The tests in this file run the prober against a real firebase-server 1.1.0
// (npm, MIT; firebase@7.24.0 pinned beside it), which serves the Realtime
// Database REST API over plaintext HTTP on a loopback port. It is installed
// once with npm into the user's cache folder, never into the repository.
// They skip when node, npm or the install are unavailable, except in CI,
// where a skip would hide a gap.
//
// firebase-server ignores shallow=true and sends whole subtrees, so the
// children of each top-level key are known here; real Firebase sends true.

// planted is the database the open test starts the server with.
func planted() map[string]any {
	users := map[string]any{}
	for i := range 60 {
		users[fmt.Sprintf("u%03d", i)] = map[string]any{"name": fmt.Sprintf("user %d", i), "age": 20 + i%50}
	}
	orders := map[string]any{}
	for i := range 25 {
		orders[fmt.Sprintf("o%03d", i)] = map[string]any{"user": fmt.Sprintf("u%03d", i), "total": i * 3}
	}
	config := map[string]any{"theme": "dark", "version": 7, "maintenance": false}
	return map[string]any{"users": users, "orders": orders, "config": config}
}

func TestRealOpen(t *testing.T) {
	srv := startFirebaseServer(t, planted())
	r := probeOnce(t, srv.target)
	if r.Status != gown.StatusOpen || r.Reason != "security rules allow unauthenticated reads: the root lists 3 top-level keys" {
		t.Fatalf("got %s %q (error %q)", r.Status, r.Reason, r.Error)
	}
	want := map[string]uint64{"config": 3, "orders": 25, "users": 60}
	got := map[string]uint64{}
	for _, db := range r.Inventory.Databases {
		got[db.Name] = db.Items
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || r.Inventory.Items != 3 || r.Details["top_level_keys"] != "3" {
		t.Errorf("inventory %+v, want keys %v", r.Inventory, want)
	}
	srv.wantOnlyGETs(t, 1)
	t.Logf("open: %s; keys %v; evidence %q", r.Reason, got, r.Evidence[0].Sent)
}

func TestRealEmpty(t *testing.T) {
	srv := startFirebaseServer(t, map[string]any{})
	r := probeOnce(t, srv.target)
	if r.Status != gown.StatusOpen || r.Details["root"] != kindNull || r.Inventory.Items != 0 {
		t.Fatalf("got %s %q details %v", r.Status, r.Reason, r.Details)
	}
	srv.wantOnlyGETs(t, 1)
}

// fbServer is one firebase-server behind a recording proxy.
type fbServer struct {
	target gown.Target // the proxy, named as an app would name the database
	log    string      // the server's own output
	mu     sync.Mutex
	reqs   []string // method and URI of every request through the proxy
}

// wantOnlyGETs checks, twice over, that gown sent n GETs and nothing else:
// from the proxy's record, and from firebase-server's own debug log, which
// names each REST request's method.
func (s *fbServer) wantOnlyGETs(t *testing.T, n int) {
	t.Helper()
	s.mu.Lock()
	reqs := append([]string(nil), s.reqs...)
	s.mu.Unlock()
	if len(reqs) != n {
		t.Errorf("proxy saw %d requests, want %d: %q", len(reqs), n, reqs)
	}
	for _, q := range reqs {
		if q != "GET "+rootPath {
			t.Errorf("proxy saw %q, want only GET %s", q, rootPath)
		}
	}
	out, _ := os.ReadFile(s.log)
	var logged int
	for line := range strings.Lines(string(out)) {
		for _, m := range []string{"GET", "PUT", "PATCH", "POST", "DELETE"} {
			if strings.Contains(line, "firebase-server "+m+" ") {
				logged++
				if m != "GET" {
					t.Errorf("firebase-server logged a write: %s", strings.TrimSpace(line))
				}
			}
		}
	}
	if logged != n {
		t.Errorf("firebase-server logged %d REST requests, want %d:\n%s", logged, n, out)
	}
}

// startFirebaseServer runs firebase-server with data on a free loopback port
// and puts a recording reverse proxy in front of it.
func startFirebaseServer(t *testing.T, data map[string]any) *fbServer {
	t.Helper()
	bin := installFirebaseServer(t)
	dir := t.TempDir()
	dataFile := filepath.Join(dir, "data.json")
	b, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dataFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	s := &fbServer{log: filepath.Join(dir, "server.log")}
	runNode(t, s.log, bin, "-e", "-v", "-a", "127.0.0.1", "-p", strconv.Itoa(port), "-f", dataFile)
	backend := &url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
	waitHTTP(t, backend.String()+"/.json", s.log)
	// The readiness GET went straight to the server; count from here on.
	if err := os.Truncate(s.log, 0); err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(backend)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.reqs = append(s.reqs, r.Method+" "+r.RequestURI)
		s.mu.Unlock()
		rp.ServeHTTP(w, r)
	})}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	ap := netip.MustParseAddrPort(ln.Addr().String())
	s.target = gown.Target{Host: "gown-test.firebaseio.com", Addr: ap.Addr(), Port: int(ap.Port()), Hint: "firebase"}
	return s
}

// installFirebaseServer returns the firebase-server script, installing the
// pinned packages into the cache folder the first time.
func installFirebaseServer(t *testing.T) string {
	t.Helper()
	unavailable := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf("firebase-server is required in CI: "+format, args...)
		}
		t.Skipf("firebase-server unavailable: "+format, args...)
	}
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			unavailable("%v", err)
		}
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		unavailable("no cache folder: %v", err)
	}
	dir := filepath.Join(cache, "gown-testbed", "firebase")
	bin := filepath.Join(dir, "node_modules", "firebase-server", "bin", "firebase-server.js")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		unavailable("%v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "package.json")); errors.Is(err, os.ErrNotExist) {
		os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"name":"gown-testbed-firebase","private":true}`), 0o644)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "install", "--ignore-scripts", "--no-audit", "--no-fund",
		"firebase-server@1.1.0", "firebase@7.24.0")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		unavailable("npm install: %v\n%s", err, out)
	}
	return bin
}

// runNode starts node with args in its own process group, with SIGKILL as
// the parent-death signal so a killed test binary leaves no server behind,
// and stops exactly that group when the test ends.
func runNode(t *testing.T, logPath string, args ...string) {
	t.Helper()
	out, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = append(os.Environ(), "DEBUG=firebase-server", "DEBUG_COLORS=no", "NO_UPDATE_NOTIFIER=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	started, done := make(chan error, 1), make(chan struct{})
	go func() {
		// The death signal fires when the forking thread exits: keep this
		// goroutine on its thread, in Wait, as long as the server lives.
		runtime.LockOSThread()
		defer out.Close()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		cmd.Wait()
		close(done)
	}()
	if err := <-started; err != nil {
		t.Fatalf("start node: %v", err)
	}
	pgid := cmd.Process.Pid
	t.Cleanup(func() {
		syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			syscall.Kill(-pgid, syscall.SIGKILL)
			<-done
		}
	})
}

// waitHTTP polls url until it answers 200.
func waitHTTP(t *testing.T, u, logPath string) {
	t.Helper()
	c := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := c.Get(u)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(logPath)
			t.Fatalf("firebase-server did not answer on %s: %v\n%s", u, err, bytes.TrimSpace(out))
		}
	}
}

// freePort finds a loopback port no one listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
