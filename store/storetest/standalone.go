package storetest

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/store"
)

// AppFinding builds a standalone finding about an app's own code, with a
// location inside the app, as assess.AppFindings draws it.
func AppFinding(app, rule string, offset int64) gown.Finding {
	t := gown.Target{Host: app, Origin: "app"}
	return gown.Finding{ID: gown.FindingID(rule, "", t), Rule: rule, Severity: gown.SeverityMedium, Target: t,
		Title:     app + " " + rule,
		Locations: []gown.Source{{Container: app + ".apk", Entry: "classes.dex", Section: "dex strings", Offset: offset}}}
}

// testStandalone stores findings about no single service (an app's own
// code, one address answering as many stores) beside a service, and reads
// them back first, grouped by subject, with their locations and origin;
// they mark no target done, replaying them adds nothing, and diffs compare
// them like any finding.
func testStandalone(t *testing.T, s gown.Store) {
	app := []gown.Finding{AppFinding("com.example.shop", "hardcoded-credential", 120), AppFinding("com.example.shop", "cleartext-transport", 64)}
	hp := gown.Finding{Rule: "honeypot-suspected", Severity: gown.SeverityInfo, Target: gown.Target{Host: "203.0.113.7"},
		Title: "one address answers as 3 different data stores"}
	hp.ID = gown.FindingID(hp.Rule, "", hp.Target)
	svc := Open(Target("10.0.0.1", 6379), "redis", gown.Database{Name: "db0", Items: 3, Bytes: 30})
	batch := []gown.Record{{Findings: app}, svc, {Findings: []gown.Finding{hp}}}
	id, err := s.BeginScan(t.Context(), gown.ScanMeta{Command: "app", Args: []string{"shop.apk"}, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	add(t, s, id, batch...)
	add(t, s, id, batch...) // a replayed batch changes nothing
	got := readAll(t, s, id)
	if len(got) != 3 || got[0].r != nil || got[1].r != nil || got[2].r == nil {
		t.Fatalf("read back %d calls (want the address's and the app's findings, then the service): %+v", len(got), got)
	}
	if !reflect.DeepEqual(got[0].fs, []gown.Finding{hp}) {
		t.Errorf("address findings %+v, want %+v", got[0].fs, hp)
	}
	if !reflect.DeepEqual(got[1].fs, app) {
		t.Errorf("app findings read back as\n%+v\nwant\n%+v", got[1].fs, app)
	}
	if done := countDone(t, s, id); len(done) != 1 || !done[gown.TargetKey(svc.Target)] {
		t.Errorf("done targets %v: standalone findings must mark none", done)
	}
	m, err := s.Scan(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if m.Command != "app" || len(m.Args) != 1 {
		t.Errorf("scan command %q args %q, want app [shop.apk]", m.Command, m.Args)
	}
	if m.Targets != 1 || m.Results != 1 || m.Findings != 4 {
		t.Errorf("scan counts targets %d results %d findings %d, want 1, 1, 4", m.Targets, m.Results, m.Findings)
	}

	// A later scan: the app's clear text is fixed, a new key appeared.
	later := []gown.Finding{app[0], AppFinding("com.example.shop", "hardcoded-credential/google-api-key", 9)}
	next := begin(t, s)
	add(t, s, next, gown.Record{Findings: later}, svc)
	var lines []string
	err = store.Diff(t.Context(), s, id, next, func(e store.DiffEntry) error {
		lines = append(lines, fmt.Sprintf("%s %s %s", e.Finding.Target.Host, e.Finding.Rule, e.Kind))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"203.0.113.7 honeypot-suspected fixed",
		"com.example.shop cleartext-transport fixed", "com.example.shop hardcoded-credential still-open",
		"com.example.shop hardcoded-credential/google-api-key new", "10.0.0.1 open-store still-open"}
	if !reflect.DeepEqual(lines, want) {
		t.Errorf("diff\n%q\nwant\n%q", lines, want)
	}
}
