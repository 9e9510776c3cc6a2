package storetest

import (
	"reflect"
	"testing"

	"github.com/gownscan/gown"
)

// SampleApp is an app as extraction gives it: identity, frameworks, an
// endpoint of each party, one built at run time from parts, a clear-text
// join and a redacted credential.
func SampleApp(file string) *gown.App {
	src := func(entry, section string, off int64) gown.Source {
		return gown.Source{Container: file, Entry: entry, Section: section, Offset: off}
	}
	return &gown.App{File: file, Platform: gown.PlatformAndroid, Format: "apk", ID: "com.example.shop", Version: "2.1",
		TargetSDK: 34, Signer: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		Frameworks: []string{"flutter"},
		Identity:   []string{"package com.example.shop", "deep-link host shop.example.com"},
		Endpoints: []gown.Endpoint{
			{Kind: gown.KindConnString, Value: "redis://db.shop.example.com:6379", Scheme: "redis", Host: "db.shop.example.com",
				Port: 6379, Store: "redis", FirstParty: true, Party: gown.PartyFirst, Confidence: 0.9,
				Sources: []gown.Source{src("classes.dex", "dex strings", 4242), src("res/values/strings.xml", "string db_url", 77)}},
			{Kind: gown.KindURL, Value: "http://api.shop.example.com/v1", Scheme: "http", Host: "api.shop.example.com", Port: 80,
				FirstParty: true, Party: gown.PartyFirst, Confidence: 0.8, Sources: []gown.Source{src("classes.dex", "dex strings", 100)}},
			{Kind: gown.KindHost, Value: "search.acme-cloud.io:9200", Host: "search.acme-cloud.io", Port: 9200,
				Party: gown.PartyUnknown, Confidence: 0.35, Sources: []gown.Source{src("classes.dex", "code", 9000)},
				Parts: []gown.Source{src("classes.dex", "dex strings", 310), src("classes.dex", "dex strings", 322)}},
			{Kind: gown.KindURL, Value: "https://firebase.googleapis.com/", Scheme: "https", Host: "firebase.googleapis.com", Port: 443,
				TLS: true, Party: gown.PartyThird, Confidence: 0.5, Sources: []gown.Source{src("classes.dex", "dex strings", 12)}},
			{Kind: gown.KindIPPort, Value: "10.0.2.2:27017", Host: "10.0.2.2", Port: 27017, Party: gown.PartyDev, Confidence: 0.6,
				Sources: []gown.Source{src("classes.dex", "dex strings", 55)}},
			{Kind: gown.KindHost, Value: "cache.corp:11211", Host: "cache.corp", Port: 11211, Party: gown.PartyInternal,
				Confidence: 0.6, Sources: []gown.Source{src("assets/config.json", "", 3)}},
			{Kind: gown.KindURL, Value: "https://acct.blob.core.windows.net/photos", Scheme: "https", Host: "acct.blob.core.windows.net",
				Port: 443, Store: "azblob", TLS: true, Path: "/photos", FirstParty: true, Party: gown.PartyFirst, Confidence: 0.9,
				Sources: []gown.Source{src("classes.dex", "dex strings", 640)}},
		},
		Credentials: []gown.Credential{{Rule: "conn-string-password", Value: "hu****", Host: "db.shop.example.com",
			Sources: []gown.Source{src("classes.dex", "dex strings", 4242)}}},
		Cleartext: []gown.Cleartext{{Policy: "AndroidManifest.xml: usesCleartextTraffic=true",
			Endpoints: []string{"http://api.shop.example.com/v1"}}},
		Errors: []string{"lib/arm64-v8a/libbroken.so: truncated ELF"},
	}
}

// testApps stores apps a scan read (gown.Record.App) beside its findings
// and a service, and reads them back whole, in order, per scan: every
// endpoint with its party, store, path, sources and parts. Apps mark no
// target done, replaying a batch adds nothing, an app of another scan
// stays there, text an app chose (NUL, invalid UTF-8) is stored, and
// pruning a scan takes its apps with it.
func testApps(t *testing.T, s gown.Store) {
	a, bare := SampleApp("shop.apk"), &gown.App{File: "empty.ipa", Platform: gown.PlatformIOS, Format: "ipa"}
	fs := []gown.Finding{AppFinding("com.example.shop", "hardcoded-credential", 4242)}
	svc := Open(Target("10.0.0.1", 6379), "redis")
	id := begin(t, s)
	batch := []gown.Record{{App: a, Findings: fs}, svc, {App: bare}}
	add(t, s, id, batch...)
	add(t, s, id, batch...) // a replayed batch changes nothing
	other := begin(t, s)
	b := SampleApp("shop-2.2.apk")
	b.Version, b.Endpoints = "2.2", b.Endpoints[:1]
	add(t, s, other, gown.Record{App: b})

	read := func(id gown.ScanID) []*gown.App {
		t.Helper()
		var out []*gown.App
		if err := s.ScanApps(t.Context(), id, func(a *gown.App) error { out = append(out, a); return nil }); err != nil {
			t.Fatalf("ScanApps: %v", err)
		}
		return out
	}
	got := read(id)
	if len(got) != 2 {
		t.Fatalf("scan %d: %d apps read back, want 2 (shop.apk, empty.ipa)", id, len(got))
	}
	if !reflect.DeepEqual(got[0], a) {
		t.Errorf("app read back as\n%+v\nwant\n%+v", got[0], a)
	}
	for i := range a.Endpoints {
		if i < len(got[0].Endpoints) && !reflect.DeepEqual(got[0].Endpoints[i], a.Endpoints[i]) {
			t.Errorf("endpoint %d read back as\n%+v\nwant\n%+v", i, got[0].Endpoints[i], a.Endpoints[i])
		}
	}
	if !reflect.DeepEqual(got[1], bare) {
		t.Errorf("bare app read back as %+v, want %+v", got[1], bare)
	}
	// Text an app chose: NUL bytes and invalid UTF-8 must not fail the
	// batch (PostgreSQL text refuses both); they read back escaped.
	hostile := &gown.App{File: "x\x00\xff.apk", ID: "com.\x00evil", Identity: []string{"package \xfe"},
		Endpoints: []gown.Endpoint{{Kind: gown.KindURL, Value: "http://a\x00b.example/\xff", Host: "a\x00b.example", Party: gown.PartyUnknown,
			Sources: []gown.Source{{Container: "x\x00.apk", Entry: "classes\xff.dex"}}}}}
	add(t, s, other, gown.Record{App: hostile})
	if o := read(other); len(o) != 2 || len(o[1].Endpoints) != 1 || o[1].Endpoints[0].Party != gown.PartyUnknown {
		t.Errorf("the hostile app read back as %+v", o)
	}
	if o := read(other); len(o) != 2 || o[0].Version != "2.2" || len(o[0].Endpoints) != 1 {
		t.Errorf("the other scan's apps: %+v", o)
	}
	if done := countDone(t, s, id); len(done) != 1 || !done[gown.TargetKey(svc.Target)] {
		t.Errorf("done targets %v: apps must mark none", done)
	}
	rs := readAll(t, s, id)
	if len(rs) != 2 || rs[0].r != nil || !reflect.DeepEqual(rs[0].fs, fs) {
		t.Errorf("results beside the apps: %+v, want the app's finding then the service", rs)
	}
	finish(t, s, id, gown.ScanDone)
	finish(t, s, other, gown.ScanDone)
	if n, err := s.Prune(t.Context(), 1); err != nil || n != 1 {
		t.Fatalf("Prune(1) = %d, %v; want 1", n, err)
	}
	if got := read(id); len(got) != 0 {
		t.Errorf("a pruned scan's apps are still read: %+v", got)
	}
	if o := read(other); len(o) != 2 {
		t.Errorf("the kept scan lost its apps: %+v", o)
	}
}
