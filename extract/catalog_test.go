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

// TestBucketTargets: the buckets an app names become targets of the store
// whose prober lists them, at the host that prober reaches them by: S3
// buckets (global and regional hosts) as named, Firebase Storage buckets at
// their Cloud Storage virtual host; a port the app gives is kept.
func TestBucketTargets(t *testing.T) {
	raws := []string{"media-planted.s3.amazonaws.com", "logs-planted.s3.eu-west-1.amazonaws.com",
		"https://dump-planted.s3.amazonaws.com:8443/a.json", "shop-planted.appspot.com", "gs://shop-planted.firebasestorage.app"}
	b := zipOf(t, entry{"AndroidManifest.xml", plantedManifest("com.bucket.planted", false), false},
		entry{"assets/buckets.txt", []byte(strings.Join(raws, "\n")), false})
	app := readApp(t, b, "buckets.apk")
	got := map[string]bool{}
	for _, e := range app.Endpoints {
		for _, tg := range e.Targets(nil) {
			got[fmt.Sprintf("%s:%d/%s tls=%t", tg.Host, tg.Port, tg.Hint, tg.TLS)] = true
		}
	}
	for _, w := range []string{
		"media-planted.s3.amazonaws.com:443/s3 tls=true",
		"logs-planted.s3.eu-west-1.amazonaws.com:443/s3 tls=true",
		"dump-planted.s3.amazonaws.com:8443/s3 tls=true",
		"shop-planted.appspot.com.storage.googleapis.com:443/gcs tls=true",
		"shop-planted.firebasestorage.app.storage.googleapis.com:443/gcs tls=true",
	} {
		if !got[w] {
			t.Errorf("no target %s among %v", w, got)
		}
	}
}
