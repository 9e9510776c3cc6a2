package extract

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe/all"
	"github.com/gownscan/gown/target"
)

// catalog is the real table of schemes, as gown passes it to extraction.
// Tests may link the probers to get it; extraction itself never does.
var catalog = all.Catalog()

// TestSchemesAgreeWithTargets: for every scheme in the catalog, a URL an app
// carries and the same URL typed by a user mean the same store, port and
// TLS. Before the one table, extraction and target parsing each had their
// own and disagreed (mongodb+srv, couchbase, couchbases).
func TestSchemesAgreeWithTargets(t *testing.T) {
	var raws []string
	for i, scheme := range catalog.Schemes() {
		host := fmt.Sprintf("db-%d.agree-planted.net", i)
		if scheme == "firebase" {
			// Only a database host is read as Firebase by extraction.
			host = fmt.Sprintf("agree-%d.firebaseio.com", i)
		}
		raws = append(raws, scheme+"://"+host+"/app", scheme+"://"+strings.Replace(host, "-", "-p", 1)+":4242/app")
	}
	// A Realtime Database URL: its host names the store over https.
	raws = append(raws, "https://agree-db.firebaseio.com/.json", "https://agree-db.europe-west1.firebasedatabase.app")

	b := zipOf(t, entry{"AndroidManifest.xml", plantedManifest("com.agree.planted", false), false},
		entry{"assets/servers.txt", []byte(strings.Join(raws, "\n")), false})
	app := readApp(t, b, "agree.apk")
	if len(app.Errors) > 0 {
		t.Fatalf("errors %q", app.Errors)
	}
	byHost := map[string]gown.Endpoint{}
	for _, e := range app.Endpoints {
		byHost[e.Host] = e
	}
	for _, raw := range raws {
		sp, err := target.Parse(raw, catalog)
		if err != nil {
			t.Errorf("target.Parse(%q): %v", raw, err)
			continue
		}
		e, ok := byHost[sp.Host]
		if !ok {
			t.Errorf("%s: extraction found no endpoint", raw)
			continue
		}
		if e.Store != sp.Hint || e.Port != sp.Port || e.TLS != sp.TLS {
			t.Errorf("%s: extraction says store %q port %d tls %t; target parsing says %q %d %t",
				raw, e.Store, e.Port, e.TLS, sp.Hint, sp.Port, sp.TLS)
		}
		// The targets an endpoint gives carry the same hint and TLS.
		if tg := e.Targets(nil); len(tg) > 0 && (tg[0].Hint != sp.Hint || tg[0].TLS != sp.TLS || tg[0].Port != sp.Port) {
			t.Errorf("%s: first target %+v, spec %+v", raw, tg[0], sp)
		}
	}
}

// TestConfigNeedsCatalog: extraction refuses to run without the table
// rather than type every endpoint as storeless.
func TestConfigNeedsCatalog(t *testing.T) {
	if _, err := New(Config{}); err == nil || !strings.Contains(err.Error(), "catalog") {
		t.Errorf("New without a catalog: %v", err)
	}
}
