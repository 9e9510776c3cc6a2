package probetest

import (
	"strings"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/probe"
	"github.com/gownscan/gown/probe/all"
)

// redisReads are the commands gown may send a Redis server: the probe's,
// and the reads that decide a server whose ACL refuses INFO (one SCAN page,
// TYPE and a read of a value by its type).
var redisReads = map[string]bool{"INFO": true, "PING": true, "DBSIZE": true, "SCAN": true, "TYPE": true,
	"GETRANGE": true, "HSCAN": true, "LRANGE": true, "SSCAN": true, "ZRANGE": true}

// TestReadOnlyFromServerLogs scans real servers with the whole engine while
// each server records what it receives (Redis MONITOR, MariaDB general_log),
// then checks that only reads arrived.
func TestReadOnlyFromServerLogs(t *testing.T) {
	redises := []string{"redis-open", "redis-acl", "redis-readonly"}
	mariadbs := []string{"mariadb-open", "mariadb-password", "mariadb-select-only", "mariadb-insert-only"}
	bed := testbed.Require(t, append(redises, mariadbs...)...)
	var monitors []*testbed.Monitor
	for _, name := range redises {
		m, err := bed.Get(name).Monitor(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		monitors = append(monitors, m)
	}

	eng, err := probe.New(probe.Config{Workers: 4, Timeout: 20 * time.Second,
		Dialer: probe.DialerConfig{Source: testbed.Source}}, all.Registry())
	if err != nil {
		t.Fatal(err)
	}
	in, _ := feed(bed.Servers)
	seen := map[gown.Status]int{}
	if err := eng.Run(t.Context(), in, func(r *gown.Result) { seen[r.Status]++ }); err != nil {
		t.Fatal(err)
	}
	if seen[gown.StatusOpen] != 4 || seen[gown.StatusRestricted] != 2 {
		t.Fatalf("verdicts %v: want the four open servers open and the two restricted restricted, or the logs prove nothing", seen)
	}

	for i, m := range monitors {
		cmds := m.Entries()
		var fromScan []string
		for _, e := range cmds {
			if !strings.HasPrefix(e.Client, testbed.Source.String()+":") {
				continue // the test bed's own connection
			}
			fromScan = append(fromScan, e.String())
			if len(e.Args) == 0 || !redisReads[strings.ToUpper(e.Args[0])] {
				t.Errorf("redis MONITOR saw a command that is not a read: %q", e.String())
			}
		}
		if len(fromScan) == 0 {
			t.Errorf("monitor %d saw nothing from the scan: the check proves nothing", i)
		}
		t.Logf("%s MONITOR, commands from the scan: %q", redises[i], fromScan)
	}

	for _, name := range mariadbs {
		entries, err := bed.Get(name).ScanLog()
		if err != nil {
			t.Fatal(err)
		}
		var queries int
		for _, e := range entries {
			switch e.Command {
			case "Connect", "Quit":
			case "Query":
				queries++
				q := strings.ToUpper(strings.TrimSpace(e.Argument))
				if !strings.HasPrefix(q, "SELECT ") {
					t.Errorf("%s general_log: a statement that is not a SELECT: %q", name, e.Argument)
				}
			default:
				t.Errorf("%s general_log: unexpected command %s %q", name, e.Command, e.Argument)
			}
			t.Logf("%s general_log: %s %s", name, e.Command, e.Argument)
		}
		if len(entries) == 0 {
			t.Errorf("%s general_log shows nothing from the scan: the check proves nothing", name)
		}
		if name != "mariadb-password" && queries == 0 {
			t.Errorf("%s: no inventory query logged", name)
		}
	}
}

// memcachedReads are the text commands gown may send memcached: the probe's
// stats, and sampling's key listing. Sampling's "get k1 k2 …" is checked by
// isMemcachedRead. The bed is shared within a test binary, so the log may
// hold the sampling test's requests too.
var memcachedReads = map[string]bool{"stats": true, "stats settings": true, "lru_crawler metadump all": true}

func isMemcachedRead(text string) bool {
	return memcachedReads[text] || strings.HasPrefix(text, "get ")
}

// TestReadOnlyPostgresMemcached scans an open PostgreSQL and an open
// memcached with the whole engine and reads, in each server's own log
// (log_statement=all, -vv), what the scan sent: SELECTs only, and stats
// and stats settings only.
func TestReadOnlyPostgresMemcached(t *testing.T) {
	bed := testbed.Require(t, "postgres-trust", "memcached-open")
	eng, err := probe.New(probe.Config{Workers: 2, Timeout: 20 * time.Second,
		Dialer: probe.DialerConfig{Source: testbed.Source}}, all.Registry())
	if err != nil {
		t.Fatal(err)
	}
	// The bed is shared by the package's tests: detection's test sends
	// memcached other stores' greetings (HTTP, TLS, RESP). Only what this
	// scan sends is judged here.
	before, err := bed.Get("memcached-open").MemcachedCommands()
	if err != nil {
		t.Fatal(err)
	}
	in, _ := feed(bed.Servers)
	seen := map[gown.Status]int{}
	if err := eng.Run(t.Context(), in, func(r *gown.Result) { seen[r.Status]++ }); err != nil {
		t.Fatal(err)
	}
	if seen[gown.StatusOpen] != 2 {
		t.Fatalf("verdicts %v: want both servers open, or the logs prove nothing", seen)
	}

	stmts, err := bed.Get("postgres-trust").PostgresStatements()
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range stmts {
		if q := strings.ToUpper(strings.TrimSpace(st.SQL)); !strings.HasPrefix(q, "SELECT ") {
			t.Errorf("postgres log: a statement that is not a SELECT: %q (db %s, app %q)", st.SQL, st.DB, st.App)
		}
		t.Logf("postgres-trust log: db=%s app=%s: %s", st.DB, st.App, st.SQL)
	}
	if len(stmts) == 0 {
		t.Error("postgres log shows no statement from the scan: the check proves nothing")
	}

	// memcached logs a request as it parses it, from a worker thread; the
	// scan has its answers, but the log line may trail by a moment.
	var cmds []testbed.MemcachedCommand
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cmds, err = bed.Get("memcached-open").MemcachedCommands(); err != nil {
			t.Fatal(err)
		}
		if len(cmds) >= len(before)+2 {
			break
		}
	}
	cmds = cmds[min(len(before), len(cmds)):]
	var texts []string
	for _, c := range cmds {
		texts = append(texts, c.Text)
		if !isMemcachedRead(c.Text) {
			t.Errorf("memcached -vv log: a request that is not a read: %q", c.Text)
		}
	}
	if len(cmds) == 0 {
		t.Error("memcached log shows nothing from the scan: the check proves nothing")
	}
	t.Logf("memcached-open -vv log, requests from the scan: %q", texts)
}
