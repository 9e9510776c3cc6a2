package probetest

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/probe"
	"github.com/gownscan/gown/probe/all"
)

// TestReadOnlyPostgresRoles scans the PostgreSQL configurations where
// postgres is a plain role (SELECT on the tables, or no grant at all) with
// the whole engine, sampling on, and reads in each server's own log
// (log_statement=all) what the scan sent: SELECTs only, the reads that
// decide (SELECT 1 … LIMIT 1) among them, and each verdict as planted.
func TestReadOnlyPostgresRoles(t *testing.T) {
	names := []string{"postgres-select-only", "postgres-no-select"}
	bed := testbed.Require(t, names...)
	var mu sync.Mutex
	got := map[string]gown.Status{}
	sampled := 0
	// Analyze set, so that the engine samples the open store too.
	eng, err := probe.New(probe.Config{Workers: 2, Timeout: 30 * time.Second, Sample: probe.DefaultSample,
		Dialer: probe.DialerConfig{Source: testbed.Source},
		Analyze: func(_ *gown.Result, samples []gown.Sample, _ bool) {
			mu.Lock()
			defer mu.Unlock()
			sampled += len(samples)
		}}, all.Registry())
	if err != nil {
		t.Fatal(err)
	}
	in, byAddr := feed(bed.Servers)
	if err := eng.Run(t.Context(), in, func(r *gown.Result) {
		mu.Lock()
		defer mu.Unlock()
		got[byAddr[r.Target.Dial()].Name] = r.Status
		t.Logf("%s: %s — %s", byAddr[r.Target.Dial()].Name, r.Status, r.Reason)
	}); err != nil {
		t.Fatal(err)
	}
	if sampled == 0 {
		t.Error("no record sampled from postgres-select-only: the log proves nothing of sampling")
	}
	for _, name := range names {
		s := bed.Get(name)
		if got[name] != s.Want.Status {
			t.Errorf("%s: gown says %s, planted %s", name, got[name], s.Want.Status)
		}
		stmts, err := s.PostgresStatements()
		if err != nil {
			t.Fatal(err)
		}
		reads := 0
		for _, st := range stmts {
			q := strings.ToUpper(strings.TrimSpace(st.SQL))
			if !strings.HasPrefix(q, "SELECT ") {
				t.Errorf("%s log: a statement that is not a SELECT: %q (db %s)", name, st.SQL, st.DB)
			}
			if strings.HasPrefix(q, "SELECT 1 FROM ") {
				reads++
			}
			t.Logf("%s log: db=%s: %s", name, st.DB, st.SQL)
		}
		if reads == 0 {
			t.Errorf("%s log shows no SELECT 1 read: the verdict was not decided by a read", name)
		}
	}
}
