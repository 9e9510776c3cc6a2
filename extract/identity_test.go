package extract

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/extract/android"
)

// TestPartyOfHost: what ties a host to com.acme.analytics, signed by
// O=Acme Inc, with a deep link to go.acme-links.io and Firebase project
// acme-prod-1, and what does not (a common word of the id, a word inside
// another, a known SDK, a public address).
func TestPartyOfHost(t *testing.T) {
	s := &appScan{parties: NewParties(), app: &gown.App{ID: "com.acme.analytics", Platform: gown.PlatformAndroid},
		subject: "CN=Release,O=Acme Inc,C=US", projects: []string{"acme-prod-1"},
		manifest: &android.Manifest{Hosts: []string{"go.acme-links.io"}}}
	id := s.identity()
	for host, want := range map[string]gown.Party{
		"api.acme.com":       gown.PartyFirst, // a word of the id
		"cdn.acme-cloud.net": gown.PartyFirst, // a word of the site name
		"www.acme-links.io":  gown.PartyFirst, // the deep link's site
		"acme-prod-1-default-rtdb.europe-west1.firebasedatabase.app": gown.PartyFirst,
		"acme-prod-1.appspot.com":                                    gown.PartyFirst,
		"collector.analytics-cloud.com":                              gown.PartyUnknown, // "analytics" is a common word
		"api.acmecorp-rival.com":                                     gown.PartyUnknown, // a word inside another
		"other-prod-2.firebaseio.com":                                gown.PartyUnknown,
		"graph.facebook.com":                                         gown.PartyThird,
		"203.0.113.9":                                                gown.PartyUnknown,
		"10.0.2.2":                                                   gown.PartyDev,
		"db.acme.corp":                                               gown.PartyInternal,
		"172.20.1.5":                                                 gown.PartyInternal,
	} {
		if got := id.party(s.parties, host); got != want {
			t.Errorf("%s: %s, want %s", host, got, want)
		}
	}
}

// TestAppPartyOf: the decision extraction leaves on the app (App.PartyOf)
// is the one its endpoints got, and decides hosts the app never names by
// the same identity (package com.shop.planted, network security config
// domain shop-planted.net); Parties.Party, knowing no app, makes nothing
// first. The app still encodes as JSON: the decision is no field of it.
func TestAppPartyOf(t *testing.T) {
	b, _ := plantedAPK(t, true)
	app := readApp(t, b, "shop.apk")
	if app.PartyOf == nil {
		t.Fatal("extraction left no PartyOf on the app")
	}
	for _, e := range app.Endpoints {
		if e.Kind == gown.KindBucket || e.Host == firestoreHost {
			continue // decided by the bucket's or project's own name, not the host's
		}
		if got := app.PartyOf(e.Host); got != e.Party {
			t.Errorf("PartyOf(%s) = %s, the endpoint %s has %s", e.Host, got, e.Value, e.Party)
		}
	}
	parties := NewParties()
	for host, want := range map[string][2]gown.Party{ // with the app, without
		"img.shop-planted.net":     {gown.PartyFirst, gown.PartyUnknown}, // the config's domain
		"API.Shop-Planted.NET.":    {gown.PartyFirst, gown.PartyUnknown}, // as a capture may spell it
		"planted-cdn.net":          {gown.PartyFirst, gown.PartyUnknown}, // a word of the package
		"cache.stranger-store.net": {gown.PartyUnknown, gown.PartyUnknown},
		"graph.facebook.com":       {gown.PartyThird, gown.PartyThird},
		"203.0.113.9":              {gown.PartyUnknown, gown.PartyUnknown},
		"127.0.0.1":                {gown.PartyDev, gown.PartyDev},
		"10.0.2.2":                 {gown.PartyDev, gown.PartyDev},
		"localhost":                {gown.PartyDev, gown.PartyDev},
		"db.planted.corp":          {gown.PartyInternal, gown.PartyInternal},
		"192.168.1.20":             {gown.PartyInternal, gown.PartyInternal},
	} {
		if got := app.PartyOf(host); got != want[0] {
			t.Errorf("PartyOf(%s) = %s, want %s", host, got, want[0])
		}
		if got := parties.Party(host); got != want[1] {
			t.Errorf("Parties.Party(%s) = %s, want %s", host, got, want[1])
		}
	}
	js, err := json.Marshal(app)
	if err != nil || bytes.Contains(js, []byte("PartyOf")) {
		t.Errorf("the app as JSON: %v, %.80s", err, js)
	}
}
