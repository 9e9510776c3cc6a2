package extract

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/extract/android"
)

// FuzzRead feeds whole archives to the extractor: zip structure, Deflate
// streams (extract/internal/inflate, whole and sliding), nested archives and
// every entry reader behind them. Any input must give an App, with errors in
// App.Errors, inside the caps and without a panic. Seeds: small apps of the
// kinds the tests build, kept in testdata/fuzz/FuzzRead, and these.
func FuzzRead(f *testing.F) {
	f.Add(zipOf(f, entry{name: "classes.dex", data: []byte("dex\n035\x00")},
		entry{name: "assets/config.json", data: []byte(`{"api":"https://api.example.com:9200/"}`)}))
	f.Add(zipOf(f, entry{name: "inner.apk", data: zipOf(f, entry{name: "res/raw/x.txt", data: []byte("mongodb://u:p@db.example.com/app")})},
		entry{name: "manifest.json", data: []byte(`{"split_apks":[{"file":"inner.apk"}]}`)}))
	f.Add(zipOf(f, entry{name: "Payload/A.app/Info.plist", data: []byte("<plist><dict/></plist>"), store: true}))
	x, err := New(Config{Catalog: catalog, MaxEntries: 64, MaxEntrySize: 1 << 20, MaxTotal: 4 << 20, MaxRatio: 100, MaxDepth: 2})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		app := x.Read(ctx, bytes.NewReader(data), int64(len(data)), "fuzz.apk")
		if app == nil {
			t.Fatal("no app")
		}
		if ctx.Err() != nil {
			t.Fatalf("read of %d bytes ran into the 10 s deadline", len(data))
		}
	})
}

// FuzzParty feeds the identity facts and hosts an app chooses to the party
// decision: the words of an id and a signer subject, a deep-link host, the
// associated domains read from a binary, and a host to place. Any input
// must give one of the five parties, within the identity caps, without a
// panic; a development or internal host is never first party. Seeds in
// testdata/fuzz/FuzzParty.
func FuzzParty(f *testing.F) {
	f.Add("com.northwind.mobile", "CN=Northwind,O=Contoso Ltd,C=US", "links.tailspin.io", []byte("<string>applinks:shop.tailspin.io</string>"), "api.northwind.com")
	f.Add("a.b", "", "", []byte("applinks:"), "10.0.2.2")
	p := NewParties()
	f.Fuzz(func(t *testing.T, id, subject, link string, binary []byte, host string) {
		s := &appScan{parties: p, app: &gown.App{ID: id}, subject: subject, assoc: associatedDomains(binary),
			manifest: &android.Manifest{Hosts: []string{link}}, projects: []string{id}}
		if len(s.assoc) > 3*maxIdentity {
			t.Fatalf("%d associated domains", len(s.assoc))
		}
		for _, d := range s.assoc {
			if len(d) == 0 || len(d) > 253 {
				t.Fatalf("associated domain %q", d)
			}
		}
		ident := s.identity()
		if len(ident.shown) > maxIdentity || len(ident.words) > maxIdentity || len(ident.sites) > maxIdentity {
			t.Fatalf("identity past its caps: %d facts, %d words, %d sites", len(ident.shown), len(ident.words), len(ident.sites))
		}
		host = strings.ToLower(host)
		switch pt := ident.party(s.parties, host); pt {
		case gown.PartyFirst:
			if gown.DevHost(host) || gown.InternalHost(host) {
				t.Fatalf("%q is first party", host)
			}
		case gown.PartyThird, gown.PartyUnknown, gown.PartyDev, gown.PartyInternal:
		default:
			t.Fatalf("party %q", pt)
		}
	})
}

// FuzzHybridConfig feeds capacitor.config.json and Cordova config.xml text
// to the readers of hybrid apps' own hosts: any input gives at most
// maxIdentity facts, each host without a wildcard, scheme or path, and no
// panic. Seeds in testdata/fuzz/FuzzHybridConfig.
func FuzzHybridConfig(f *testing.F) {
	f.Add([]byte(`{"appId":"io.x.y","server":{"hostname":"app.x.net","allowNavigation":["*.x.net","https://*.y.net/*"]}}`), true)
	f.Add([]byte(`<widget id="a.b"><access origin="https://api.x.net"/><allow-navigation href="*"/></widget>`), false)
	x, err := New(Config{Catalog: catalog})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte, capacitor bool) {
		name := "www/config.xml"
		if capacitor {
			name = "assets/capacitor.config.json"
		}
		s := newAppScan(x, "fuzz.apk")
		u := &unit{s: s}
		u.hybridConfig(b, gown.Source{Entry: name})
		s.merge(u)
		if len(s.own) > maxIdentity {
			t.Fatalf("%d facts", len(s.own))
		}
		for _, o := range s.own {
			if !o.words && (strings.ContainsAny(o.text, "*/ ") || strings.Contains(o.text, "://")) {
				t.Fatalf("host fact %q", o.text)
			}
		}
	})
}
