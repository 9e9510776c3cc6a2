package extract

import (
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
		if got := s.party(id, host); got != want {
			t.Errorf("%s: %s, want %s", host, got, want)
		}
	}
}
