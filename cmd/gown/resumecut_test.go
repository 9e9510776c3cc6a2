package main

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/probe"
	"github.com/gownscan/gown/probe/all"
	"github.com/gownscan/gown/scan"
)

// TestResumeCutCredentials: a scan of targets given as URLs with
// credentials stores its command line without them (what the file holds:
// scan's TestBeginCutsCredentials), and a resume, which parses the stored
// command line again, probes the same targets: gown never logs in with a
// given password, so nothing it needs was cut. A scan stored before gown
// cut them (its arguments whole in the file) is shown cut by gown scans and
// the reports, and resumes from the cut arguments the store reads back,
// finding the same targets open.
func TestResumeCutCredentials(t *testing.T) {
	bed := testbed.Require(t, "redis-open", "mongodb-open")
	redis, mongo := bed.Get("redis-open").Addr.String(), bed.Get("mongodb-open").Addr.String()
	args := []string{"--source", testbed.Source.String(), "--no-sample",
		"redis://:" + urlRedisPassword + "@" + redis, "mongodb://" + urlMongoUser + ":" + urlMongoPassword + "@" + mongo + "/admin?authSource=admin"}
	db := t.TempDir() + "/gown.db"
	st := openStore(t, db)

	// Scan 1 is begun by the pipeline, as gown scan begins it, and stops
	// before probing anything: interrupted, nothing done.
	cfg := scan.Config{Registry: all.Registry(), Store: st, Meta: gown.ScanMeta{Command: "scan", Args: args, Version: "test"},
		Probe: probe.Config{Workers: 4, Timeout: 10 * time.Second, Dialer: probe.DialerConfig{Source: testbed.Source}}}
	s, err := scan.Begin(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Scan 2 is one stored before the cut: its arguments whole.
	old, err := st.BeginScan(t.Context(), gown.ScanMeta{Command: "scan", Args: args, Version: "old"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.FinishScan(t.Context(), old, gown.ScanInterrupted); err != nil {
		t.Fatal(err)
	}
	m, err := st.Scan(t.Context(), s.ID())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"--source", testbed.Source.String(), "--no-sample", "redis://" + redis, "mongodb://" + mongo}
	if !slices.Equal(m.Args, want) {
		t.Fatalf("scan 1 stored %q, want %q", m.Args, want)
	}
	st.Close()

	shown := runOK(t, "scans", "--db", db) + runOK(t, "scans", "--db", db, "--json") + runOK(t, "report", "2", "--db", db, "--format", "md")
	for _, secret := range []string{urlRedisPassword, urlMongoUser, urlMongoPassword, "authSource"} {
		if strings.Contains(shown, secret) {
			t.Errorf("gown scans or the report of the scan stored whole shows %q:\n%s", secret, shown)
		}
	}
	if !strings.Contains(shown, "redis://"+redis+" mongodb://"+mongo) {
		t.Errorf("gown scans and the report lack the cut targets:\n%s", shown)
	}

	for _, id := range []gown.ScanID{s.ID(), old} {
		runOK(t, "scan", "--resume", strconv.FormatInt(int64(id), 10), "--db", db, "-q")
		st := openStore(t, db)
		m, err := st.Scan(t.Context(), id)
		if err != nil || m.State != gown.ScanDone {
			t.Fatalf("scan %d after resume: %+v, %v", id, m, err)
		}
		var open []string
		err = st.Results(t.Context(), id, func(r *gown.Result, _ []gown.Finding) error {
			if r != nil && r.Status == gown.StatusOpen {
				open = append(open, r.Target.Hint+"://"+r.Target.Dial())
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(open)
		if want := []string{"mongodb://" + mongo, "redis://" + redis}; !slices.Equal(open, want) {
			t.Errorf("scan %d resumed from its stored arguments found %q open, want %q", id, open, want)
		}
		t.Logf("scan %d (%s): resumed, open: %q", id, m.Version, open)
		st.Close()
	}
}
