package extract

import (
	"slices"
	"strings"
	"testing"

	"github.com/gownscan/gown"
)

// TestAzureBlobURL: a blob URL names its container by its first path
// segment, which becomes the endpoint's (and the target's) path; the
// account's root names no container and no store; a SAS token is cut; the
// rest of the path names a blob the prober may read (Names).
func TestAzureBlobURL(t *testing.T) {
	for _, c := range []struct{ in, store, path, value, names string }{
		{"https://shopdata.blob.core.windows.net/photos/2024/a%20b.jpg?sv=2024&sig=abc", "azblob", "/photos", "https://shopdata.blob.core.windows.net/photos/2024/a%20b.jpg", "2024/a b.jpg"},
		{"https://shopdata.blob.core.windows.net/backups", "azblob", "/backups", "https://shopdata.blob.core.windows.net/backups", ""},
		{"https://shopdata.blob.core.windows.net/backups/a,b.csv", "azblob", "/backups", "https://shopdata.blob.core.windows.net/backups/a,b.csv", ""},
		{"https://shopdata.blob.core.windows.net/", "", "", "https://shopdata.blob.core.windows.net/", ""},
		{"http://shopdata.blob.core.windows.net/photos", "", "", "http://shopdata.blob.core.windows.net/photos", ""},
	} {
		ep := &gown.Endpoint{Kind: gown.KindURL}
		parseURL(ep, c.in, catalog)
		if ep.Store != c.store || ep.Path != c.path || ep.Value != c.value || strings.Join(ep.Names, ",") != c.names {
			t.Errorf("%s: store %q path %q value %q names %q", c.in, ep.Store, ep.Path, ep.Value, ep.Names)
		}
		ep.Party = gown.PartyFirst
		ts := ep.Targets(nil)
		if c.store != "" && (len(ts) != 1 || ts[0].Path != c.path || ts[0].Hint != "azblob") {
			t.Errorf("%s: targets %+v", c.in, ts)
		}
	}
}

// derivedFirestore reports whether e is the Firestore database of a
// Firebase project the app's identity names: planted by the project id,
// not by a URL of its own.
func derivedFirestore(app *gown.App, e gown.Endpoint) bool {
	if e.Host != firestoreHost || e.Store != "firestore" {
		return false
	}
	for _, f := range app.Identity {
		if p, ok := strings.CutPrefix(f, "firebase project "); ok && e.Path == "/v1/projects/"+p+"/databases/(default)" {
			return true
		}
	}
	return false
}

// TestFirestoreFromProject: an app's Firebase project id gives its default
// Firestore database as a first-party endpoint, with the path the prober
// reads, where the id was read as its source; an id that is no project id
// gives none.
func TestFirestoreFromProject(t *testing.T) {
	s := &appScan{cfg: Config{Catalog: catalog}, app: &gown.App{}}
	src := gown.Source{Entry: "res/values/strings.xml", Section: "string/project_id"}
	s.projects, s.projectSrc = []string{"Shop-Prod-42", "shop-prod-42", "x!"}, []gown.Source{src, src, src}
	s.firestoreEndpoints()
	if len(s.app.Endpoints) != 1 {
		t.Fatalf("endpoints %+v", s.app.Endpoints)
	}
	e := s.app.Endpoints[0]
	ts := e.Targets(nil)
	if e.Path != "/v1/projects/shop-prod-42/databases/(default)" || e.Party != gown.PartyFirst || e.Store != "firestore" ||
		!slices.Equal(e.Sources, []gown.Source{src}) || len(ts) != 1 || ts[0].Path != e.Path || ts[0].Host != firestoreHost || !ts[0].TLS {
		t.Errorf("endpoint %+v, targets %+v", e, ts)
	}
}

// TestFirestoreCollections: collection names the app's JavaScript uses go
// with its Firestore endpoint, each once, in the order first seen; other
// calls named collection (no literal) give none.
func TestFirestoreCollections(t *testing.T) {
	s := &appScan{cfg: Config{Catalog: catalog}, app: &gown.App{}}
	u := &unit{s: s}
	for _, js := range []string{
		`const q = collection(db, "rides"); getDocs(q)`,
		`firestore().collection('drivers').doc(id); db.collection("rides")`,
		"db.collection(`payouts`)",
		`collection(someVariable); new Map().collection`,
	} {
		u.collections([]byte(js))
	}
	for _, f := range u.effects {
		f(s)
	}
	src := gown.Source{Entry: "GoogleService-Info.plist"}
	s.projects, s.projectSrc = []string{"shop-prod-42"}, []gown.Source{src}
	s.firestoreEndpoints()
	if len(s.app.Endpoints) != 1 || !slices.Equal(s.app.Endpoints[0].Names, []string{"rides", "drivers", "payouts"}) {
		t.Fatalf("endpoints %+v", s.app.Endpoints)
	}
	if ts := s.app.Endpoints[0].Targets(nil); len(ts) != 1 || ts[0].Names != "rides,drivers,payouts" {
		t.Errorf("targets %+v", ts)
	}
}
