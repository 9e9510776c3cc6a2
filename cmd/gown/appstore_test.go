package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/extract/android/androidtest"
	"github.com/gownscan/gown/internal/testbed"
)

// partyAPK writes the APK of com.gown.party: endpoints of every party in its
// dex strings (its own back ends on party-gown.net, a stranger's database,
// a third party's API, the emulator host, an internal name) and a Redis URL
// its React Native bundle builds at run time from a host and a port kept
// apart, on redisPort (five parts: scheme, host, colon, port, path).
func partyAPK(t *testing.T, dir string, redisPort int) string {
	t.Helper()
	man := androidtest.XML(androidtest.Node{Name: "manifest", Attrs: []androidtest.Attr{{Name: "package", Str: "com.gown.party"}},
		Children: []androidtest.Node{{Name: "uses-sdk", Attrs: []androidtest.Attr{{Name: "targetSdkVersion", Type: 0x10, Data: 26, ResID: 0x01010270}}}}})
	dex := androidtest.Dex([]string{"http://api.party-gown.net/v1", "mongodb://reports.faraway-hosting.net:27017/app",
		"https://www.googleapis.com/auth/userinfo.email", "http://10.0.2.2:8080/api", "jdbc:mysql://db.party.corp:3306/app"})
	bundle := fmt.Sprintf(`var HOST="cache.party-gown.net",PORT=%d;__d(function(){const u="redis://"+HOST+":"+PORT+"/0";connect(u)});`, redisPort)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range []struct {
		name string
		data []byte
	}{{"AndroidManifest.xml", man}, {"classes.dex", dex}, {"assets/index.android.bundle", []byte(bundle)}} {
		w, err := zw.Create(e.name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(e.data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "party.apk")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAppScanStoredThenReported runs gown app on a test-built APK into a
// SQLite store, its run-time-built Redis URL resolved to the bed's real open
// Redis, then gown report of the stored scan in every format: the app, its
// endpoints with their party, store and places (parts included) come back
// from the store. The JSON Lines report equals gown report --from of gown
// app --json line for line and passes docs/schema; the table shows the
// endpoints by party, the HTML card groups them by party, Markdown lists
// them; --fail-on gates the stored scan as it gated gown app.
func TestAppScanStoredThenReported(t *testing.T) {
	isolateConfig(t)
	ro := testbed.Require(t, "redis-open").Get("redis-open")
	dir := t.TempDir()
	apk := partyAPK(t, dir, int(ro.Addr.Port()))
	db := filepath.Join(dir, "gown.db")
	live := filepath.Join(dir, "live.jsonl")
	code, _, errOut := gownRun(t, "app", apk, "--db", db, "--json", "-o", live, "--allow-private", "--no-dns", "--fail-on", "medium",
		"--resolve", "cache.party-gown.net="+ro.Addr.Addr().String(), "--source", testbed.Source.String(), "-q")
	if code != exitFindings {
		t.Fatalf("gown app --fail-on medium: exit %d, want %d (the app's clear text, the open Redis); stderr %s", code, exitFindings, errOut)
	}
	liveOut, err := os.ReadFile(live)
	if err != nil {
		t.Fatal(err)
	}
	var app gown.App
	if err := json.Unmarshal([]byte(strings.SplitN(string(liveOut), "\n", 2)[0]), &app); err != nil {
		t.Fatalf("gown app --json's first line: %v", err)
	}
	parties := map[gown.Party]int{}
	var built *gown.Endpoint
	for i, e := range app.Endpoints {
		parties[e.Party]++
		if len(e.Parts) > 0 && strings.HasPrefix(e.Value, "redis://cache.party-gown.net") {
			built = &app.Endpoints[i]
		}
	}
	for _, p := range []gown.Party{gown.PartyFirst, gown.PartyUnknown, gown.PartyThird, gown.PartyDev, gown.PartyInternal} {
		if parties[p] == 0 {
			t.Errorf("the app has no %s-party endpoint: %+v", p, app.Endpoints)
		}
	}
	if built == nil {
		t.Fatalf("no run-time-built Redis URL with parts among %+v", app.Endpoints)
	}

	// JSON Lines from the store: the same lines gown report --from makes of
	// gown app --json, app line included, and valid against docs/schema.
	stored := runOK(t, "report", "1", "--db", db, "--format", "jsonl")
	fromFile := runOK(t, "report", "--from", live, "--format", "jsonl")
	if stored != fromFile {
		t.Errorf("gown report 1 and gown report --from differ:\nstore:\n%s\nfrom:\n%s", stored, fromFile)
	}
	lines := strings.Split(strings.TrimSpace(stored), "\n")
	var back gown.App
	if err := json.Unmarshal([]byte(lines[0]), &back); err != nil || back.ID != "com.gown.party" || len(back.Endpoints) != len(app.Endpoints) {
		t.Fatalf("the report's first line is not the app (%v): %.300s", err, lines[0])
	}
	for i := range app.Endpoints {
		g, w := back.Endpoints[i], app.Endpoints[i]
		if g.Value != w.Value || g.Party != w.Party || g.Store != w.Store || len(g.Parts) != len(w.Parts) || g.Sources[0] != w.Sources[0] {
			t.Errorf("endpoint %d stored as %+v, extracted as %+v", i, g, w)
		}
	}
	schemas := outputSchemas(t)
	validateLines(t, schemas, "app", "gown report 1 --format jsonl (the app)", lines[0])
	validateLines(t, schemas, "result", "gown report 1 --format jsonl (findings and results)", strings.Join(lines[1:], "\n"))
	if !strings.Contains(stored, `"status":"open"`) {
		t.Errorf("the stored scan lacks the open Redis the app builds at run time:\n%s", stored)
	}

	// The table: a compact endpoints-by-party section with stores and
	// places, then the findings and results.
	table := runOK(t, "report", "1", "--db", db)
	t.Logf("gown report 1:\n%s", table)
	for _, w := range []string{"APP com.gown.party", "endpoints by party: first 2 · unknown 1 · internal 1 · third 1 · dev 1",
		"first    url           http://api.party-gown.net/v1  [clear text allowed]  at ",
		"unknown  mongodb       mongodb://reports.faraway-hosting.net:27017/app",
		"internal mysql         jdbc:mysql://db.party.corp:3306/app",
		"[built at run time]", "built at run time from 5 parts: ", "assets/index.android.bundle", "party.apk!classes.dex @0x"} {
		if !strings.Contains(table, w) {
			t.Errorf("the table lacks %q", w)
		}
	}
	if strings.Contains(table, "www.googleapis.com") || strings.Contains(table, "10.0.2.2") {
		t.Error("the table lists third-party or development hosts one by one: it counts them")
	}

	html := runOK(t, "report", "1", "--db", db, "--format", "html")
	for _, w := range []string{`<span class="chip fp">first party</span>`, `<span class="chip">unknown party</span>`,
		`<span class="chip">third party</span>`, `<span class="chip">development hosts</span>`, `<span class="chip">internal names</span>`,
		"first 2 · unknown 1 · internal 1 · third 1 · dev 1", "www.googleapis.com", "built at run time from 5 parts",
		"package com.gown.party"} {
		if !strings.Contains(html, w) {
			t.Errorf("the HTML report lacks %q", w)
		}
	}
	if i := strings.Index(html, `<h2 id="s-apps">`); i >= 0 {
		t.Logf("gown report 1 --format html, the app card:\n%.2500s", html[i:])
	}
	md := runOK(t, "report", "1", "--db", db, "--format", "md")
	for _, w := range []string{"## Apps", "### com.gown.party", "Endpoints by party: first 2 · unknown 1 · internal 1 · third 1 · dev 1.",
		"| unknown | mongodb | mongodb://reports.faraway-hosting.net:27017/app |"} {
		if !strings.Contains(md, w) {
			t.Errorf("the Markdown report lacks %q", w)
		}
	}

	// The gate: the stored scan holds the same findings gown app gated on.
	if code, _, errOut := gownRun(t, "report", "1", "--db", db, "--fail-on", "medium", "--format", "jsonl"); code != exitFindings {
		t.Errorf("gown report 1 --fail-on medium: exit %d, want %d; %s", code, exitFindings, errOut)
	}
}

// TestFleetScanProbeUnknown runs gown fleet scan on an app whose only Redis
// is on a host tied neither to the app nor to a known third party, mapped
// to the bed's real open Redis: without --probe-unknown it is reported and
// not probed (a note says how to probe it), with it the open Redis is found.
// Both scans store the app with the endpoint's party, as gown report shows.
func TestFleetScanProbeUnknown(t *testing.T) {
	isolateConfig(t)
	ro := testbed.Require(t, "redis-open").Get("redis-open")
	dir := t.TempDir()
	apk := writeAPK(t, dir, "lonely.apk", fmt.Sprintf("redis://cache.faraway-hosting.net:%d/0", ro.Addr.Port()))
	db := filepath.Join(dir, "gown.db")
	base := []string{"fleet", "scan", apk, "--db", db, "--json", "--allow-private", "--no-dns",
		"--resolve", "cache.faraway-hosting.net=" + ro.Addr.Addr().String(), "--source", testbed.Source.String()}
	code, out, errOut := runCode(t, base...)
	if code != exitOK {
		t.Fatalf("gown fleet scan: exit %d: %s", code, errOut)
	}
	if strings.Contains(out, `"status":"open"`) || !strings.Contains(errOut, "1 endpoint(s) of unknown party") ||
		!strings.Contains(errOut, "--probe-unknown probes them") {
		t.Errorf("without --probe-unknown the unknown host was probed, or no note said so:\nout %s\nerr %s", out, errOut)
	}
	code, out, errOut = runCode(t, append(base, "--probe-unknown")...)
	if code != exitOK {
		t.Fatalf("gown fleet scan --probe-unknown: exit %d: %s", code, errOut)
	}
	t.Logf("gown fleet scan --probe-unknown:\n%s", out)
	if !strings.Contains(out, `"status":"open"`) || !strings.Contains(out, `"host":"cache.faraway-hosting.net"`) ||
		strings.Contains(errOut, "of unknown party") {
		t.Errorf("with --probe-unknown the unknown host's open Redis was not found:\nout %s\nerr %s", out, errOut)
	}
	for _, id := range []string{"1", "2"} {
		rep := runOK(t, "report", id, "--db", db, "--format", "jsonl")
		var a gown.App
		if err := json.Unmarshal([]byte(strings.SplitN(rep, "\n", 2)[0]), &a); err != nil || len(a.Endpoints) != 1 ||
			a.Endpoints[0].Party != gown.PartyUnknown || a.Endpoints[0].Store != "redis" {
			t.Errorf("fleet scan %s's stored app: %v %+v", id, err, a)
		}
	}
}
