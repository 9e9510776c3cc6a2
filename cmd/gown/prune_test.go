package main

import (
	"bytes"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/store"
)

// holder accepts connections and holds them open, answering nothing, until
// released: a port where every probe waits out its deadline, as behind a
// tarpit. It keeps a real scan running for as long as a test needs, and
// then lets it end at once.
type holder struct {
	l     net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newHolder(t *testing.T) *holder {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &holder{l: l}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			h.mu.Lock()
			h.conns = append(h.conns, c)
			h.mu.Unlock()
		}
	}()
	t.Cleanup(h.release)
	return h
}

// release closes the listener and every connection it held.
func (h *holder) release() {
	h.l.Close()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.conns {
		c.Close()
	}
	h.conns = nil
}

// TestDBPruneDuringAScan runs a real gown scan of a test-bed Redis and of a
// port that holds it running, and prunes the store meanwhile: the prune
// deletes the finished scan, spares the running one and a scan left
// running by a kill, and says so; the scan then finishes with its results
// (before, it failed with "FOREIGN KEY constraint failed" and its results
// were gone). --include-running, once no scan runs, deletes the dead one.
func TestDBPruneDuringAScan(t *testing.T) {
	bed := testbed.Require(t, "redis-open")
	ro, src := bed.Get("redis-open").Addr.String(), testbed.Source.String()
	db := t.TempDir() + "/prune.db"
	runOK(t, "scan", "--db", db, "--source", src, "-q", ro) // scan 1, done

	st, err := store.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// Scan 2 was killed 40 days ago: it stays running for good.
	if _, err := st.BeginScan(t.Context(), gown.ScanMeta{Args: []string{"killed"}, Started: time.Now().Add(-40 * 24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}

	h := newHolder(t)
	var out, errb bytes.Buffer
	code := make(chan int, 1)
	go func() {
		code <- run(t.Context(), []string{"scan", "--db", db, "--source", src, "-q", "--timeout", "2m", "--io-timeout", "2m",
			ro, h.l.Addr().String()}, nil, &out, &errb)
	}()
	scan3 := func() gown.ScanMeta {
		m, err := st.Scan(t.Context(), 3)
		if err != nil {
			return gown.ScanMeta{}
		}
		return m
	}
	for deadline := time.Now().Add(30 * time.Second); scan3().Results < 1; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the scan stored no result in 30 s: %+v", scan3())
		}
	}
	if m := scan3(); m.State != gown.ScanRunning {
		t.Fatalf("scan 3 is %s before the prune; the holder should keep it running", m.State)
	}

	pruned := runOK(t, "db", "prune", "--keep", "0", "--db", db)
	t.Logf("gown db prune --keep 0 during the scan:\n%s", pruned)
	for _, want := range []string{"pruned 1 scans, kept the newest 0", "spared 2 scans still marked running (3, 2)", "--include-running"} {
		if !strings.Contains(pruned, want) {
			t.Errorf("prune output lacks %q", want)
		}
	}
	aged := runOK(t, "db", "prune", "--older-than", "30d", "--db", db)
	if !strings.HasPrefix(aged, "pruned 0 scans started before") || !strings.Contains(aged, "spared 1 scan still marked running (2)") ||
		!strings.Contains(aged, "gown scan --resume 2") {
		t.Errorf("gown db prune --older-than 30d during the scan:\n%s", aged)
	}

	h.release()
	select {
	case c := <-code:
		if c != exitOK {
			t.Fatalf("the scan exited %d after the prune: %s", c, errb.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("the scan did not end after the holder let go")
	}
	if m := scan3(); m.State != gown.ScanDone || m.Results < 1 || m.Findings < 1 {
		t.Errorf("scan 3 after the prune: %+v; want done with the redis result and its findings", m)
	}
	if !strings.Contains(out.String(), ro) {
		t.Errorf("the scan's output lacks %s:\n%s", ro, out.String())
	}

	pruned = runOK(t, "db", "prune", "--keep", "0", "--include-running", "--db", db)
	if !strings.Contains(pruned, "pruned 2 scans") || strings.Contains(pruned, "spared") {
		t.Errorf("gown db prune --keep 0 --include-running after the scan: %q; want 2 pruned, none spared", pruned)
	}
	if left := runOK(t, "scans", "--db", db, "--json"); left != "" {
		t.Errorf("scans left: %s", left)
	}
}
