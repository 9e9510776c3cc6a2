package scan_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/probe"
	"github.com/gownscan/gown/probe/all"
	"github.com/gownscan/gown/scan"
	"github.com/gownscan/gown/store"
	"github.com/gownscan/gown/store/sqlite"
)

// TestMain shares the test bed among this package's tests, which only read.
func TestMain(m *testing.M) { os.Exit(testbed.Main(m)) }

// recorder is a sink that keeps what reaches it and checks that each
// result was stored before it arrived: what a scan prints, a resume finds.
type recorder struct {
	t          *testing.T
	st         gown.Store
	scan       *scan.Scan
	mu         sync.Mutex
	results    []*gown.Result
	standalone [][]gown.Finding
	fail       error // returned by Add, to test a failing writer
}

func (rec *recorder) Add(r *gown.Result, fs []gown.Finding) error {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.fail != nil {
		return rec.fail
	}
	if r == nil {
		rec.standalone = append(rec.standalone, fs)
		return nil
	}
	rec.results = append(rec.results, r)
	if rec.st != nil && rec.scan != nil && !isDone(rec.t, rec.st, rec.scan.ID(), r.Target) {
		rec.t.Errorf("%s reached the sink before it was stored", r.Target)
	}
	return nil
}

func isDone(t *testing.T, st gown.Store, id gown.ScanID, tg gown.Target) bool {
	done, err := store.LoadDone(context.WithoutCancel(t.Context()), st, id)
	if err != nil {
		t.Fatal(err)
	}
	return done.Has(tg)
}

func openStore(t *testing.T) gown.Store {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "gown.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// bedTarget names a test-bed server as a typed target, its store as hint.
func bedTarget(s *testbed.Server) gown.Target {
	a := s.Addr.Addr()
	return gown.Target{Host: a.String(), Addr: a, Port: int(s.Addr.Port()), Hint: s.Kind, Origin: "test"}
}

// closedPort is a loopback port nothing listens on.
func closedPort(t *testing.T) gown.Target {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ap := netip.MustParseAddrPort(l.Addr().String())
	l.Close()
	return gown.Target{Host: "127.0.0.1", Addr: ap.Addr(), Port: int(ap.Port()), Origin: "test"}
}

func config(st gown.Store) scan.Config {
	return scan.Config{Registry: all.Registry(), Store: st,
		Probe: probe.Config{Workers: 8, Timeout: 10 * time.Second, Sample: probe.DefaultSample, Detect: true,
			Dialer: probe.DialerConfig{Source: testbed.Source}},
		Meta:  gown.ScanMeta{Args: []string{"test"}, Version: "test"},
		Batch: store.BatchConfig{Max: 2, Every: 20 * time.Millisecond}}
}

func begin(t *testing.T, cfg scan.Config, rec *recorder) *scan.Scan {
	t.Helper()
	s, err := scan.Begin(t.Context(), cfg, rec)
	if err != nil {
		t.Fatal(err)
	}
	rec.t, rec.st, rec.scan = t, cfg.Store, s
	return s
}

// TestRunStoresThenReports scans real servers and a closed port: every
// result is assessed, stored, then handed to the sink; the closed port only
// marks its target done; the summary counts what the store holds, and the
// gate counts the findings at or above --fail-on.
func TestRunStoresThenReports(t *testing.T) {
	bed := testbed.Require(t, "redis-open", "redis-password", "mariadb-open")
	st := openStore(t)
	cfg := config(st)
	high := gown.SeverityHigh
	cfg.FailOn = &high
	rec := &recorder{}
	s := begin(t, cfg, rec)
	var targets []gown.Target
	for _, srv := range bed.Servers {
		targets = append(targets, bedTarget(srv))
	}
	targets = append(targets, closedPort(t))
	sum, err := s.Run(t.Context(), scan.Targets(targets...))
	if err != nil {
		t.Fatal(err)
	}
	if sum.ID == 0 || sum.Targets != 4 || sum.Results != 3 || sum.Open != 2 {
		t.Errorf("summary %+v: want a stored scan, 4 targets, 3 results, 2 open", sum)
	}
	if len(rec.results) != 3 {
		t.Fatalf("sink got %d results, want 3", len(rec.results))
	}
	gated, findings := 0, 0
	for _, r := range rec.results {
		if r.Status == gown.StatusOpen && (r.Inventory == nil || r.Exposure == nil) {
			t.Errorf("%s: open but not assessed (inventory %v, exposure %v)", r.Target, r.Inventory, r.Exposure)
		}
	}
	err = st.Results(t.Context(), sum.ID, func(r *gown.Result, fs []gown.Finding) error {
		findings += len(fs)
		for _, f := range fs {
			if f.Severity >= high {
				gated++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	m, err := st.Scan(t.Context(), sum.ID)
	if err != nil {
		t.Fatal(err)
	}
	if m.State != gown.ScanDone || m.Targets != 4 || m.Results != 3 || int(m.Findings) != sum.Findings || findings != sum.Findings {
		t.Errorf("stored scan %+v, %d findings read back; summary %+v", m, findings, sum)
	}
	if gated == 0 || sum.Gated != gated {
		t.Errorf("gate counted %d, the store holds %d findings at or above high", sum.Gated, gated)
	}
}

// TestResumeSkipsFinished runs a scan over one server, then resumes it
// over that server and another: only the new one is probed, the stored
// findings still count for the gate, and the scan ends done with both.
func TestResumeSkipsFinished(t *testing.T) {
	bed := testbed.Require(t, "redis-open", "redis-password")
	st := openStore(t)
	medium := gown.SeverityMedium
	cfg := config(st)
	cfg.FailOn = &medium
	first := begin(t, cfg, &recorder{})
	sum1, err := first.Run(t.Context(), scan.Targets(bedTarget(bed.Get("redis-open"))))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Resume = sum1.ID
	rec := &recorder{}
	again := begin(t, cfg, rec)
	if again.ID() != sum1.ID || again.Finished() != 1 {
		t.Fatalf("resumed scan %d with %d finished, want %d with 1", again.ID(), again.Finished(), sum1.ID)
	}
	sum2, err := again.Run(t.Context(), scan.Targets(bedTarget(bed.Get("redis-open")), bedTarget(bed.Get("redis-password"))))
	if err != nil {
		t.Fatal(err)
	}
	if sum2.Targets != 1 || len(rec.results) != 1 || rec.results[0].Status != gown.StatusAuthRequired {
		t.Errorf("resume probed %d targets, sink got %v: want only redis-password", sum2.Targets, rec.results)
	}
	if sum2.Gated < sum1.Gated || sum1.Gated == 0 {
		t.Errorf("gate after resume %d, before %d: the stored findings must still count", sum2.Gated, sum1.Gated)
	}
	m, err := st.Scan(t.Context(), sum1.ID)
	if err != nil || m.Results != 2 || m.State != gown.ScanDone {
		t.Errorf("after resume: %+v, %v", m, err)
	}
}

// TestAppFindingsWithoutTargets is gown app --extract-only: an app's own
// findings are graded, stored as standalone findings, reported with a nil
// result, and gated, with nothing probed.
func TestAppFindingsWithoutTargets(t *testing.T) {
	st := openStore(t)
	medium := gown.SeverityMedium
	cfg := config(st)
	cfg.FailOn, cfg.Meta.Command = &medium, "app"
	rec := &recorder{}
	s := begin(t, cfg, rec)
	src := []gown.Source{{Container: "shop.apk", Entry: "classes.dex", Section: "dex strings", Offset: 4096}}
	app := &gown.App{ID: "com.example.shop", File: "shop.apk", Platform: gown.PlatformAndroid,
		Credentials: []gown.Credential{{Rule: "conn-string-password", Value: "[REDACTED]", Host: "db.shop.example", Sources: src}},
		Endpoints:   []gown.Endpoint{{Kind: gown.KindURL, Value: "http://api.shop.example/", FirstParty: true, Sources: src}},
		Cleartext:   []gown.Cleartext{{Policy: "AndroidManifest.xml: android:usesCleartextTraffic=true", Endpoints: []string{"http://api.shop.example/"}}}}
	if err := s.AddApp(app); err != nil {
		t.Fatal(err)
	}
	if len(rec.standalone) != 1 || len(rec.standalone[0]) != 2 {
		t.Fatalf("after AddApp the sink holds %v: the app's two findings must be stored and written at once", rec.standalone)
	}
	sum, err := s.Run(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Targets != 0 || sum.Findings != 2 || sum.Gated != 2 {
		t.Errorf("summary %+v: want no target, 2 findings, 2 gated", sum)
	}
	var stored []gown.Finding
	err = st.Results(t.Context(), sum.ID, func(r *gown.Result, fs []gown.Finding) error {
		if r != nil {
			t.Errorf("a result %v in a scan of an app's own code", r.Target)
		}
		stored = append(stored, fs...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != 2 || stored[0].Locations[0] != src[0] || stored[1].Target.Origin != "app" {
		t.Errorf("stored %+v", stored)
	}
	if m, _ := st.Scan(t.Context(), sum.ID); m.Command != "app" || m.State != gown.ScanDone {
		t.Errorf("stored scan %+v", m)
	}
}

// redirect dials every target on loopback, whatever its address: the scan
// believes it talks to 203.0.113.7, the packets stay on 127.0.0.1.
type redirect struct{ inner probe.Dialer }

func (d redirect) Dial(ctx context.Context, t gown.Target) (*probe.Conn, error) {
	t.Addr = netip.MustParseAddr("127.0.0.1")
	return d.inner.Dial(ctx, t)
}

// TestHoneypotAcrossResultsIsStored: one public address that answers as
// three different stores gives a honeypot finding about the address as a
// whole; it is stored and reported like any finding. The address is
// documentation space; every connection goes to the test bed on loopback.
func TestHoneypotAcrossResultsIsStored(t *testing.T) {
	bed := testbed.Require(t, "redis-open", "mariadb-open", "postgres-trust")
	st := openStore(t)
	cfg := config(st)
	d, err := probe.NewDialer(probe.DialerConfig{Source: testbed.Source})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Dialer = redirect{d}
	rec := &recorder{}
	s := begin(t, cfg, rec)
	public := netip.MustParseAddr("203.0.113.7")
	var targets []gown.Target
	for _, srv := range bed.Servers {
		tg := bedTarget(srv)
		tg.Host, tg.Addr = public.String(), public
		targets = append(targets, tg)
	}
	sum, err := s.Run(t.Context(), scan.Targets(targets...))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Open != 3 || len(rec.standalone) != 1 || rec.standalone[0][0].Rule != "honeypot-suspected" {
		t.Fatalf("open %d, standalone %+v: want 3 open and one honeypot finding", sum.Open, rec.standalone)
	}
	var got []gown.Finding
	err = st.Results(t.Context(), sum.ID, func(r *gown.Result, fs []gown.Finding) error {
		if r == nil {
			got = append(got, fs...)
		}
		return nil
	})
	if err != nil || len(got) != 1 || got[0].Target.Host != "203.0.113.7" {
		t.Errorf("stored standalone findings %+v, %v", got, err)
	}
}

// TestFailingSinkStopsTheScan: a writer that fails stops the scan, which
// is marked interrupted; nothing more is probed for results that could not
// be shown.
func TestFailingSinkStopsTheScan(t *testing.T) {
	bed := testbed.Require(t, "redis-open")
	st := openStore(t)
	rec := &recorder{fail: errors.New("disk full")}
	s := begin(t, config(st), rec)
	var targets []gown.Target
	for range 50 {
		targets = append(targets, bedTarget(bed.Get("redis-open")))
	}
	sum, err := s.Run(t.Context(), scan.Targets(targets...))
	if err == nil || !errors.Is(err, rec.fail) {
		t.Fatalf("Run: %v, want the sink's error", err)
	}
	if m, _ := st.Scan(t.Context(), sum.ID); m.State != gown.ScanInterrupted {
		t.Errorf("scan state %s after a failing sink, want interrupted", m.State)
	}
}

// TestWithoutStore: with no store, results go to the sink as they come
// and nothing is recorded.
func TestWithoutStore(t *testing.T) {
	bed := testbed.Require(t, "redis-password")
	rec := &recorder{}
	s := begin(t, config(nil), rec)
	sum, err := s.Run(t.Context(), scan.Targets(bedTarget(bed.Get("redis-password"))))
	if err != nil {
		t.Fatal(err)
	}
	if sum.ID != 0 || len(rec.results) != 1 || rec.results[0].Status != gown.StatusAuthRequired {
		t.Errorf("summary %+v, sink %v", sum, rec.results)
	}
	if _, err := scan.Begin(t.Context(), scan.Config{Registry: all.Registry(), Resume: 3}, rec); err == nil {
		t.Error("resuming without a store was accepted")
	}
}
