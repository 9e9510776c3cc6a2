package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/store"
	"github.com/gownscan/gown/store/storetest"
	"github.com/gownscan/gown/web"
)

// syncBuffer is a bytes.Buffer safe to read while gown serve writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var servedAt = regexp.MustCompile(`dashboard at http://(\S+)/ `)

// startServe runs gown serve until the test ends and returns its address
// and its standard output so far.
func startServe(t *testing.T, args ...string) (string, *syncBuffer, func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	out, errb := &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	go func() { done <- run(ctx, append([]string{"serve"}, args...), nil, out, errb) }()
	stop := func() int {
		cancel()
		select {
		case code := <-done:
			return code
		case <-time.After(10 * time.Second):
			t.Fatal("gown serve did not stop within 10 s of the signal")
			return -1
		}
	}
	t.Cleanup(func() { cancel() })
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := servedAt.FindStringSubmatch(errb.String()); m != nil {
			return m[1], out, stop
		}
		select {
		case code := <-done:
			t.Fatalf("gown serve exited %d: %s", code, errb.String())
		default:
		}
	}
	t.Fatalf("gown serve never said where it listens: %s", errb.String())
	return "", nil, nil
}

func status(t *testing.T, url, token string) int {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestServeToken: on loopback gown serve needs no token; with --token, or
// off loopback, it makes one on first start, prints it once, keeps only
// its hash in the store, and requires it; a second start reuses it and
// prints none; SIGINT (the context) stops it cleanly.
func TestServeToken(t *testing.T) {
	db := filepath.Join(t.TempDir(), "serve.db")
	st, err := store.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	id, err := st.BeginScan(t.Context(), gown.ScanMeta{Args: []string{"x"}})
	if err == nil {
		err = st.AddResults(t.Context(), id, []gown.Record{storetest.Open(storetest.Target("10.0.0.1", 6379), "redis", gown.Database{Name: "db0", Items: 3})})
	}
	st.Close()
	if err != nil {
		t.Fatal(err)
	}

	addr, _, stop := startServe(t, "--db", db, "--listen", "127.0.0.1:0")
	if c := status(t, "http://"+addr+"/scans/1", ""); c != 200 {
		t.Errorf("loopback without --token: %d, want 200", c)
	}
	if code := stop(); code != exitOK {
		t.Errorf("stopped with exit %d", code)
	}

	addr, out, stop := startServe(t, "--db", db, "--listen", "127.0.0.1:0", "--token")
	tok := regexp.MustCompile(`\b[0-9a-f]{64}\b`).FindString(out.String())
	if tok == "" || !strings.Contains(out.String(), "/login?token="+tok) {
		t.Fatalf("no token and login address printed:\n%s", out.String())
	}
	if c := status(t, "http://"+addr+"/api/scans", ""); c != 401 {
		t.Errorf("--token, no token sent: %d", c)
	}
	if c := status(t, "http://"+addr+"/api/scans", tok); c != 200 {
		t.Errorf("--token, the token sent: %d", c)
	}
	stop()
	raw, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	wal, _ := os.ReadFile(db + "-wal")
	if bytes.Contains(append(raw, wal...), []byte(tok)) {
		t.Error("the store holds the token itself")
	}
	st, err = store.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	h, ok, err := st.(store.TokenKeeper).DashboardToken(t.Context())
	st.Close()
	if err != nil || !ok || h != web.HashToken(tok) {
		t.Errorf("stored hash %q (%v, %v), want the token's SHA-256", h, ok, err)
	}

	// Off loopback: the stored token is required, and not printed again.
	addr, out, stop = startServe(t, "--db", db, "--listen", "0.0.0.0:0")
	port := addr[strings.LastIndex(addr, ":"):]
	if strings.Contains(out.String(), tok) || regexp.MustCompile(`[0-9a-f]{64}`).MatchString(out.String()) {
		t.Errorf("a second start printed a token:\n%s", out.String())
	}
	if c := status(t, "http://127.0.0.1"+port+"/", ""); c != 401 {
		t.Errorf("off loopback, no token: %d", c)
	}
	if c := status(t, "http://127.0.0.1"+port+"/", tok); c != 200 {
		t.Errorf("off loopback, the token: %d", c)
	}
	stop()

	var errb bytes.Buffer
	if code := run(t.Context(), []string{"serve", "--listen", "8080"}, nil, &bytes.Buffer{}, &errb); code != exitUsage {
		t.Errorf("--listen without a port: exit %d, want %d", code, exitUsage)
	}
}
