package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
	"github.com/gownscan/gown/probe/sampletest"
)

// TestRealServer runs the prober against a real PostgreSQL 15 on a free
// loopback port, reconfigured between checks as an operator would (pg_hba.conf
// and ssl settings, then a reload): trust with planted data, scram-sha-256,
// pg_hba reject, TLS required (hostssl only) and TLS offered. The server logs
// every statement; the test proves from the log that gown sent only its two
// SELECTs, and sampling its two.
func TestRealServer(t *testing.T) {
	needPostgres(t)
	if testing.Short() {
		t.Skip("starts a real server")
	}
	s := newPGServer(t)
	s.hba("host all all 127.0.0.1/32 trust")
	s.start()
	want := plant(t, s)

	t.Run("trust", func(t *testing.T) {
		res := probeUntil(t, s, gown.StatusOpen, gown.TLSNone)
		checkInventory(t, res, want)
		if !strings.HasPrefix(res.Version, "15.") || res.Product != "PostgreSQL" || res.Details["auth"] != "trust" {
			t.Errorf("product %q version %q details %v", res.Product, res.Version, res.Details)
		}
	})
	t.Run("sampled over the kept session", func(t *testing.T) {
		sampleKept(t, s)
	})
	t.Run("scram", func(t *testing.T) {
		s.psql("postgres", "ALTER ROLE postgres PASSWORD 'gown-test-"+strconv.Itoa(time.Now().Nanosecond())+"'")
		s.hba("host all all 127.0.0.1/32 scram-sha-256")
		s.reload()
		res := probeUntil(t, s, gown.StatusAuthRequired, gown.TLSNone)
		if res.Details["auth"] != "scram-sha-256" || res.Inventory != nil {
			t.Errorf("details %v inventory %+v", res.Details, res.Inventory)
		}
	})
	t.Run("reject", func(t *testing.T) {
		s.hba("host all all 127.0.0.1/32 reject")
		s.reload()
		res := probeUntil(t, s, gown.StatusRestricted, gown.TLSNone)
		if res.Details["sqlstate"] != "28000" {
			t.Errorf("details %v", res.Details)
		}
	})
	t.Run("tls required", func(t *testing.T) {
		certPEM, keyPEM := selfSigned(t)
		s.writeFile("server.crt", string(certPEM), 0o644)
		s.writeFile("server.key", string(keyPEM), 0o600)
		s.psql("postgres", "ALTER SYSTEM SET ssl = on")
		s.hba("hostssl all all 127.0.0.1/32 trust")
		s.reload()
		res := probeUntil(t, s, gown.StatusOpen, gown.TLSRequired)
		checkInventory(t, res, want)
		if !res.TLS.SelfSigned || res.TLS.Subject != "CN=gown-test-postgres" || res.TLS.Version == "" {
			t.Errorf("tls %+v", res.TLS)
		}
	})
	t.Run("tls offered", func(t *testing.T) {
		s.hba("host all all 127.0.0.1/32 scram-sha-256")
		s.reload()
		res := probeUntil(t, s, gown.StatusAuthRequired, gown.TLSOffered)
		if res.Details["auth"] != "scram-sha-256" || res.Details["sasl"] != "SCRAM-SHA-256-PLUS,SCRAM-SHA-256" {
			t.Errorf("details %v", res.Details)
		}
	})
	t.Run("read-only", func(t *testing.T) {
		stmts, errs := s.gownStatements()
		if len(stmts) < 6 {
			t.Errorf("the log shows only %d statements from gown; is log_statement on?", len(stmts))
		}
		for _, st := range stmts {
			sampled := st == sampleColumnsQuery || st == sampleOrders
			if st != queryDatabases && st != queryRows && !sampled {
				t.Errorf("gown sent %q", st)
			}
		}
		if len(errs) > 0 {
			t.Errorf("gown's sessions logged errors:\n%s", strings.Join(errs, "\n"))
		}
		t.Logf("%d statements from gown in the server log, all of them the two SELECTs and sampling's two", len(stmts))
	})
}

// plant creates a database shop with 300 rows, waits until the statistics
// show them, and returns the sizes and counts the inventory must report.
func plant(t *testing.T, s *pgServer) map[string]gown.Database {
	t.Helper()
	s.psql("postgres", "CREATE DATABASE shop")
	s.psql("shop", "CREATE TABLE orders (id int PRIMARY KEY, email text); "+
		"INSERT INTO orders SELECT g, 'user' || g || '@example.com' FROM generate_series(1, 300) g; ANALYZE orders")
	for deadline := time.Now().Add(10 * time.Second); ; {
		if s.psql("shop", "SELECT COALESCE(SUM(n_live_tup),0) FROM pg_stat_user_tables") == "300" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the statistics never showed the 300 planted rows")
		}
		time.Sleep(100 * time.Millisecond)
	}
	want := map[string]gown.Database{}
	for _, line := range strings.Split(s.psql("postgres", "SELECT datname, pg_database_size(datname), datistemplate FROM pg_database"), "\n") {
		f := strings.Split(line, "|")
		size, _ := strconv.ParseUint(f[1], 10, 64)
		d := gown.Database{Name: f[0], Bytes: size, System: f[2] == "t" || f[0] == "postgres"}
		if d.Name == "shop" {
			d.Items = 300
		}
		want[d.Name] = d
	}
	return want
}

// probeUntil probes until the verdict and TLS mode are as wanted: a reload
// is asynchronous, so the first connections after it may still see the old
// configuration.
func probeUntil(t *testing.T, s *pgServer, status gown.Status, mode gown.TLSMode) *gown.Result {
	t.Helper()
	d, err := probe.NewDialer(probe.DialerConfig{IOTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	tgt := gown.Target{Host: "127.0.0.1", Port: s.port}
	var res *gown.Result
	for range 20 {
		ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
		res, err = New().Probe(ctx, tgt, d)
		cancel()
		if err == nil && res.Status == status && res.TLS.Mode == mode {
			t.Logf("%s, tls %s: %s (%s)", res.Status, res.TLS.Mode, res.Reason, res.Error)
			return res
		}
		time.Sleep(250 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("probe: %v\n%s", err, s.logTail())
	}
	t.Fatalf("got %s, tls %q (%s; %s), want %s, tls %q", res.Status, res.TLS.Mode, res.Reason, res.Error, status, mode)
	return nil
}

// checkInventory compares the inventory with the sizes and counts the server
// reported to the admin session.
func checkInventory(t *testing.T, res *gown.Result, want map[string]gown.Database) {
	t.Helper()
	inv := res.Inventory
	if inv == nil || len(inv.Databases) != len(want) {
		t.Fatalf("inventory %+v, want %d databases", inv, len(want))
	}
	for _, d := range inv.Databases {
		w := want[d.Name]
		// Sizes may move by a page or two as the server writes statistics;
		// counts and system flags must match exactly.
		if d.Items != w.Items || d.System != w.System || diff(d.Bytes, w.Bytes) > 64<<10 {
			t.Errorf("database %+v, want %+v", d, w)
		}
	}
	if inv.Items != 300 || diff(inv.Bytes, want["shop"].Bytes) > 64<<10 {
		t.Errorf("totals items %d bytes %d, want 300 and ~%d", inv.Items, inv.Bytes, want["shop"].Bytes)
	}
}

func diff(a, b uint64) uint64 {
	if a > b {
		return a - b
	}
	return b - a
}

// TestRealPlainRole: trust lets postgres in, but postgres is a plain role
// (the superuser is another), so the login decides nothing and the reads
// do: no grant and INSERT alone are restricted; SELECT on one column, or on
// the one table of seven that the catalog names first for its grant, is
// open. The log shows only SELECTs from gown.
func TestRealPlainRole(t *testing.T) {
	needPostgres(t)
	if testing.Short() {
		t.Skip("starts a real server")
	}
	s := newPGServerAs(t, "gown_admin")
	s.hba("host all all 127.0.0.1/32 trust")
	s.start()
	plant(t, s)
	s.psql("postgres", "CREATE ROLE postgres LOGIN")
	var tables []string
	for i := range 7 {
		tables = append(tables, fmt.Sprintf("CREATE TABLE t%d (id int, secret text); INSERT INTO t%d VALUES (1, 'x')", i, i))
	}
	s.psql("shop", strings.Join(tables, "; "))

	cases := []struct {
		name, grants string
		status       gown.Status
		reason       string
	}{
		{"no grant", "", gown.StatusRestricted, "SELECT is refused on each of the 5 tables it names (SQLSTATE 42501)"},
		{"insert only", "GRANT INSERT ON ALL TABLES IN SCHEMA public TO postgres", gown.StatusRestricted, "SELECT is refused"},
		{"one column", "GRANT SELECT (email) ON orders TO postgres", gown.StatusOpen, "no superuser, but SELECT reads its tables"},
		{"seventh table", "GRANT SELECT ON t6 TO postgres", gown.StatusOpen, "no superuser, but SELECT reads its tables"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s.psql("shop", "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM postgres")
			if c.grants != "" {
				s.psql("shop", c.grants)
			}
			res := probeUntil(t, s, c.status, gown.TLSNone)
			if !strings.Contains(res.Reason, c.reason) || res.Facts.Admin != "" || res.Details["superuser"] != "off" {
				t.Errorf("reason %q admin %q details %v", res.Reason, res.Facts.Admin, res.Details)
			}
			// The seven one-row tables reach the statistics a moment after
			// their session ends; the 300 planted rows are there.
			if res.Inventory == nil || res.Inventory.Items < 300 {
				t.Errorf("inventory %+v, want the rows counted from the statistics", res.Inventory)
			}
		})
	}
	stmts, _ := s.gownStatements()
	reads := 0
	for _, st := range stmts {
		if !strings.HasPrefix(st, "SELECT ") {
			t.Errorf("gown sent %q", st)
		}
		if strings.HasPrefix(st, "SELECT 1 FROM ") {
			reads++
		}
	}
	if reads == 0 {
		t.Error("the log shows no SELECT 1 read from gown")
	}
	t.Logf("%d statements from gown in the server log, all SELECTs, %d of them reads", len(stmts), reads)
}

// sampleOrders is what sampling sends for the planted table.
const sampleOrders = `SELECT left("id"::text, 1024), left("email"::text, 1024) FROM "public"."orders" LIMIT 5`

// sampleKept runs the engine with sampling on against the trust server
// holding shop. The probe logs in to postgres (list, count), then to shop
// (count), and keeps that session: the sampler reads shop.orders over it.
// Two connections in all, never two at once; before the probe kept its
// session, sampling logged in to shop a second time.
func sampleKept(t *testing.T, s *pgServer) {
	res, samples, cd := sampletest.RunCounted(t, New(), gown.Target{Host: "127.0.0.1", Port: s.port, Hint: "postgres"}, 15*time.Second)
	if res == nil || res.Status != gown.StatusOpen {
		t.Fatalf("result %+v", res)
	}
	emails := 0
	for _, x := range samples {
		for _, f := range x.Fields {
			if x.Database == "shop" && x.Collection == "orders" && f.Path == "email" && strings.HasSuffix(f.Value, "@example.com") {
				emails++
			}
		}
	}
	t.Logf("%d connections (%d beside another), %d samples, %d emails of shop.orders; evidence steps %d", cd.Dials, cd.Overlap, len(samples), emails, len(res.Evidence))
	if emails != 5 {
		t.Errorf("%d sampled emails of shop.orders, want 5: %+v", emails, samples)
	}
	if cd.Dials != 2 || cd.Overlap != 0 {
		t.Errorf("%d connections, %d opened beside another; want 2 and 0", cd.Dials, cd.Overlap)
	}
	if res.Heard != nil {
		t.Error("the kept session is still on the result")
	}
}
