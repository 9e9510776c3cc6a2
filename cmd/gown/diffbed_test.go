package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/store"
)

// TestDiffStoreClosedBetweenScans scans three real open stores into one
// results file, stops one of them, scans again, and runs gown diff: the
// stopped store's finding is fixed, the others still open.
func TestDiffStoreClosedBetweenScans(t *testing.T) {
	bed := testbed.Require(t, "redis-open", "mariadb-open", "postgres-trust")
	db := filepath.Join(t.TempDir(), "diff.db")
	var targets []string
	for _, s := range bed.Servers {
		targets = append(targets, s.Addr.String())
	}
	scan := func() {
		t.Helper()
		var out, errb bytes.Buffer
		args := append([]string{"scan", "--db", db, "--source", testbed.Source.String(), "-q"}, targets...)
		if code := run(t.Context(), args, nil, &out, &errb); code != exitOK {
			t.Fatalf("gown %s: exit %d; %s", strings.Join(args, " "), code, errb.String())
		}
	}
	scan()
	closed := bed.Get("mariadb-open")
	if err := closed.Stop(); err != nil {
		t.Fatal(err)
	}
	scan()

	var out, errb bytes.Buffer
	if code := run(t.Context(), []string{"diff", "1", "2", "--db", db}, nil, &out, &errb); code != exitOK {
		t.Fatalf("gown diff: exit %d; %s", code, errb.String())
	}
	t.Logf("gown diff 1 2 (mariadb-open at %s stopped between the scans):\n%s", closed.Addr, out.String())
	rows := map[string]map[string]bool{} // target → the changes its findings show
	for _, line := range strings.Split(out.String(), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) >= 3 && strings.Contains(f[2], ":") {
			if rows[f[2]] == nil {
				rows[f[2]] = map[string]bool{}
			}
			rows[f[2]][f[0]] = true
		}
	}
	for _, s := range bed.Servers {
		want := "still-open"
		if s == closed {
			want = "fixed"
		}
		if got := rows[s.Addr.String()]; len(got) != 1 || !got[want] {
			t.Errorf("%s (%s): changes %v, want every finding %q", s.Name, s.Addr, got, want)
		}
	}
	if sum := out.String(); !strings.Contains(sum, "scan 1 → 2: 0 new 0 grown 0 wiped") || strings.Contains(sum, " 0 fixed") {
		t.Errorf("summary line missing or wrong:\n%s", out.String())
	}
}

// TestDiffGrownShrunkWiped scans one real open Redis four times, changing
// its data in between as its users (and then a ransom bot) would: keys
// added, keys deleted, everything replaced by a ransom note. Each diff of
// two neighbouring scans must name the change on the store's open-store
// finding. The test writes to the test bed's server; gown never does.
func TestDiffGrownShrunkWiped(t *testing.T) {
	bed := testbed.Require(t, "redis-open")
	srv := bed.Get("redis-open")
	db := filepath.Join(t.TempDir(), "diff.db")
	scan := func() {
		t.Helper()
		var out, errb bytes.Buffer
		args := []string{"scan", srv.Addr.String(), "--db", db, "--source", testbed.Source.String(), "-q"}
		if code := run(t.Context(), args, nil, &out, &errb); code != exitOK {
			t.Fatalf("gown %s: exit %d; %s", strings.Join(args, " "), code, errb.String())
		}
	}
	rc := dialRedis(t, srv.Addr.String())
	scan() // 1: as planted
	rc.do(t, "SELECT", "5")
	for i := range 40 {
		rc.do(t, "SET", fmt.Sprintf("order:%d", i), "paid")
	}
	scan() // 2: 40 keys more
	rc.do(t, "FLUSHDB")
	rc.do(t, "SELECT", "1")
	rc.do(t, "FLUSHDB")
	scan() // 3: db5 and db1 emptied
	rc.do(t, "FLUSHALL")
	rc.do(t, "SELECT", "0")
	rc.do(t, "SET", "READ_ME_TO_RECOVER_YOUR_DATA", "All your data is backed up. To restore it pay 0.01 BTC to "+
		"bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh within 48 hours and write to dbrestore@onionmail.test")
	scan() // 4: nothing left but the note

	for _, c := range []struct {
		a, b string
		want store.DiffKind
	}{{"1", "2", store.DiffGrown}, {"2", "3", store.DiffShrunk}, {"3", "4", store.DiffWiped}} {
		table := runOK(t, "diff", c.a, c.b, "--db", db)
		t.Logf("gown diff %s %s:\n%s", c.a, c.b, table)
		var first store.DiffEntry
		js := runOK(t, "diff", c.a, c.b, "--db", db, "--json")
		if err := json.Unmarshal([]byte(strings.SplitN(js, "\n", 2)[0]), &first); err != nil {
			t.Fatalf("diff --json: %v\n%s", err, js)
		}
		if first.Kind != c.want || first.Finding.Rule != "open-store" {
			t.Errorf("diff %s %s: first entry %s on %s, want %s on open-store", c.a, c.b, first.Kind, first.Finding.Rule, c.want)
		}
		if n := strings.Count(table, "\n"+string(c.want)+" "); n != 1 {
			t.Errorf("diff %s %s: %d %s lines, want exactly one (the store's, not each finding's)", c.a, c.b, n, c.want)
		}
		if c.want == store.DiffWiped && (first.ItemsAfter != 1 || first.ItemsBefore <= 1 || len(first.Notes) == 0) {
			t.Errorf("wiped entry %+v: want many items before, the note alone after, and where it is", first)
		}
	}
}

// redisConn is a minimal RESP client for changing the test bed's data.
type redisConn struct {
	c net.Conn
	r *bufio.Reader
}

func dialRedis(t *testing.T, addr string) *redisConn {
	t.Helper()
	c, err := testbed.Dialer().DialContext(t.Context(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &redisConn{c: c, r: bufio.NewReader(c)}
}

// do sends one command and wants a +OK or :n reply.
func (rc *redisConn) do(t *testing.T, args ...string) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	rc.c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := rc.c.Write([]byte(b.String())); err != nil {
		t.Fatalf("redis %s: %v", args[0], err)
	}
	line, err := rc.r.ReadString('\n')
	if err != nil || (line[0] != '+' && line[0] != ':') {
		t.Fatalf("redis %s: %q, %v", args[0], line, err)
	}
}
