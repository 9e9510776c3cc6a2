package storetest

import (
	"database/sql"
	"reflect"
	"testing"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/store/migrations"
)

// Upgrade builds a database of schema 2 in db with a service and its
// finding, as a gown of that schema wrote them, closes db, and opens the
// store with open, which migrates it to the latest schema: the finding
// must still be read back with its service (the occurrences table was
// rebuilt in schema 3 so that standalone findings need no service), and an
// app stored then must read back whole (apps and endpoints were made anew
// in schema 9).
func Upgrade(t *testing.T, db *sql.DB, d migrations.Dialect, open func() (gown.Store, error)) {
	t.Helper()
	if _, err := migrations.ApplyUpTo(t.Context(), db, d, 2); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO scans (id, started_at, state, args) VALUES (1, '2026-11-01T10:00:00Z', 'done', '["x"]')`,
		`INSERT INTO services (id, scan_id, target_key, store, host, port, status) VALUES (7, 1, '10.0.0.1:6379', 'redis', '10.0.0.1', 6379, 'open')`,
		`INSERT INTO findings (id, rule, store, host, port, severity, title, first_seen, last_seen) VALUES ('f1', 'open-store', 'redis', '10.0.0.1', 6379, 3, 'open', 1, 1)`,
		`INSERT INTO occurrences (scan_id, finding_id, service_id, seq, severity, title, classes) VALUES (1, 'f1', 7, 0, 3, 'open', '["email"]')`,
		// Schema 1's apps and endpoints, which no gown wrote: schema 9
		// drops them with whatever another tool put there.
		`INSERT INTO apps (id, platform, app_id, sha256, added_at) VALUES (3, 'android', 'com.old', 'ab', '2026-11-01T10:00:00Z')`,
		`INSERT INTO endpoints (app_id, kind, value) VALUES (3, 'url', 'https://old.example/')`,
	} {
		if _, err := db.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := open()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n := 0
	err = s.Results(t.Context(), 1, func(r *gown.Result, fs []gown.Finding) error {
		n++
		if r == nil || r.Store != "redis" || len(fs) != 1 || fs[0].ID != "f1" || len(fs[0].Classes) != 1 || fs[0].Classes[0] != "email" {
			t.Errorf("after the upgrade: %+v %+v", r, fs)
		}
		return nil
	})
	if err != nil || n != 1 {
		t.Fatalf("Results after the upgrade: %d calls, %v", n, err)
	}
	// Schema 9 made apps and endpoints anew: an app stored in the
	// upgraded database reads back whole. Into scan 1: PostgreSQL's id
	// sequence has not seen the id inserted by hand.
	id := gown.ScanID(1)
	a := SampleApp("upgraded.apk")
	add(t, s, id, gown.Record{App: a})
	var got []*gown.App
	if err := s.ScanApps(t.Context(), id, func(a *gown.App) error { got = append(got, a); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !reflect.DeepEqual(got[0], a) {
		t.Errorf("app after the upgrade: %+v, want %+v", got, a)
	}
}
