package extract

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/extract/android/androidtest"
)

// planted is one endpoint put in one place of a test app.
type planted struct {
	place string // the row of the recall table
	entry string // the entry it must be reported from
	value string // the endpoint value extraction must give
}

func readApp(t testing.TB, b []byte, name string) *gown.App {
	t.Helper()
	x, err := New(Config{Catalog: catalog})
	if err != nil {
		t.Fatal(err)
	}
	return x.Read(context.Background(), bytes.NewReader(b), int64(len(b)), name)
}

// plantedAPK builds an APK with an endpoint in every Android place; libSplit
// leaves the native library out (it goes to a split).
func plantedAPK(t testing.TB, libSplit bool) ([]byte, []planted) {
	sig, _ := signatureBlock(t)
	es := []entry{
		{"AndroidManifest.xml", plantedManifest("com.shop.planted", false), false},
		{"resources.arsc", plantedTable(), true},
		{"classes.dex", androidtest.Dex([]string{"Lcom/shop/Main;", "http://schemas.android.com/apk/res/android",
			"mongodb://admin:hunter2@mongo.shop-planted.net:27017/shop", "http://dex.shop-planted.net/login",
			"https://github.com/square/okhttp", "README.md", "1.2.3.4"}), false},
		{"classes2.dex", androidtest.Dex([]string{"redis://cache.shop-planted.net:6379"}), false},
		{"res/xml/network_security_config.xml", plantedNSC(), false},
		{"res/xml/endpoints.xml", androidtest.XML(androidtest.Node{Name: "endpoints", Attrs: []androidtest.Attr{{Name: "url", Str: "https://xml.shop-planted.net/v1"}}}), false},
		{"assets/config.json", []byte(`{"es":"search.shop-planted.net:9200","db":"jdbc:mysql://db.shop-planted.net:3306/shop"}`), false},
		{"res/raw/servers.txt", []byte("primary=10.20.30.40:27017\n"), false},
		{"assets/index.android.bundle", []byte(`__d(function(){var u="wss://rn.shop-planted.net/socket";fetch("http://localhost:8081/x")});`), false},
		{"assets/app.hbc", hermesBlob("https://hermes.shop-planted.net/graphql"), false},
		{"assets/www/index.html", []byte(`<script>fetch("http://cordova.shop-planted.net/api")</script>`), false},
		{"META-INF/CERT.RSA", sig, false},
	}
	want := []planted{
		{"dex", "classes.dex", "mongodb://mongo.shop-planted.net:27017/shop"},
		{"dex", "classes.dex", "http://dex.shop-planted.net/login"},
		{"multidex", "classes2.dex", "redis://cache.shop-planted.net:6379"},
		{"resources.arsc", "resources.arsc", "https://shop-planted-1.firebaseio.com"},
		{"resources.arsc", "resources.arsc", "shop-planted-1.appspot.com"},
		{"resources.arsc", "resources.arsc", "https://arsc.shop-planted.net/help"},
		{"manifest meta-data", "AndroidManifest.xml", "https://meta.shop-planted.net/api"},
		{"res/xml", "res/xml/endpoints.xml", "https://xml.shop-planted.net/v1"},
		{"assets", "assets/config.json", "search.shop-planted.net:9200"},
		{"assets", "assets/config.json", "jdbc:mysql://db.shop-planted.net:3306/shop"},
		{"res/raw", "res/raw/servers.txt", "10.20.30.40:27017"},
		{"RN bundle JS", "assets/index.android.bundle", "wss://rn.shop-planted.net/socket"},
		{"RN Hermes bytecode", "assets/app.hbc", "https://hermes.shop-planted.net/graphql"},
		{"Cordova www", "assets/www/index.html", "http://cordova.shop-planted.net/api"},
	}
	if !libSplit {
		es = append(es, entry{"lib/arm64-v8a/libapp.so", goBinary(t, "linux", "https://elf.shop-planted.net/rpc"), false})
		want = append(want, planted{"Flutter libapp.so (ELF)", "lib/arm64-v8a/libapp.so", "https://elf.shop-planted.net/rpc"})
	}
	return zipOf(t, es...), want
}

// recall checks each planted endpoint and returns the table rows
// place → found/planted, plus the first-party endpoints nobody planted.
func recall(t *testing.T, app *gown.App, want []planted) (map[string][2]int, []string) {
	t.Helper()
	rows := map[string][2]int{}
	got := map[string]gown.Endpoint{}
	for _, e := range app.Endpoints {
		got[e.Value] = e
	}
	planted := map[string]bool{}
	for _, w := range want {
		planted[w.value] = true
		r := rows[w.place]
		r[1]++
		e, ok := got[w.value]
		switch {
		case !ok:
			t.Errorf("%s: %s not found", w.place, w.value)
		case !slices.ContainsFunc(e.Sources, func(s gown.Source) bool { return s.Entry == w.entry }):
			t.Errorf("%s: %s found in %+v, not in %s", w.place, w.value, e.Sources, w.entry)
		default:
			r[0]++
		}
		rows[w.place] = r
	}
	var extra []string
	for _, e := range app.Endpoints {
		if e.FirstParty && !planted[e.Value] {
			extra = append(extra, e.Value)
		}
	}
	return rows, extra
}

func logRecall(t *testing.T, rows map[string][2]int, extra []string, firstParty int) {
	t.Helper()
	places := make([]string, 0, len(rows))
	for p := range rows {
		places = append(places, p)
	}
	slices.Sort(places)
	var sb strings.Builder
	for _, p := range places {
		fmt.Fprintf(&sb, "  %-20s %d/%d\n", p, rows[p][0], rows[p][1])
	}
	fmt.Fprintf(&sb, "  precision (first-party): %d/%d (unplanted: %q)", firstParty-len(extra), firstParty, extra)
	t.Logf("recall per place:\n%s", sb.String())
}

func TestPlantedAPK(t *testing.T) {
	b, want := plantedAPK(t, false)
	app := readApp(t, b, "shop.apk")
	if len(app.Errors) > 0 {
		t.Errorf("errors: %q", app.Errors)
	}
	if app.Platform != gown.PlatformAndroid || app.Format != "apk" || app.ID != "com.shop.planted" ||
		app.Version != "1.2.3" || app.TargetSDK != 33 || len(app.Signer) != 64 {
		t.Errorf("metadata: %+v", app)
	}
	rows, extra := recall(t, app, want)
	first := 0
	for _, e := range app.Endpoints {
		if e.FirstParty {
			first++
		}
		if strings.Contains(e.Value, "hunter2") || strings.Contains(e.Value, "schemas.android.com") {
			t.Errorf("endpoint %q: secret or noise kept", e.Value)
		}
	}
	logRecall(t, rows, extra, first)
	if len(extra) > 0 {
		t.Errorf("first-party endpoints nobody planted: %q", extra)
	}
	checkFindings(t, app)
}

func checkFindings(t *testing.T, app *gown.App) {
	t.Helper()
	rules := map[string]string{}
	for _, c := range app.Credentials {
		rules[c.Rule] = c.Value
		if strings.Contains(c.Value, "hunter2") || strings.Contains(c.Value, "9tSrke72") {
			t.Errorf("credential not redacted: %q", c.Value)
		}
	}
	if _, ok := rules["google-api-key"]; !ok {
		t.Errorf("google api key missing: %v", rules)
	}
	if _, ok := rules["conn-string-password"]; !ok {
		t.Errorf("conn-string password missing: %v", rules)
	}
	if len(app.Cleartext) != 1 || !strings.Contains(app.Cleartext[0].Policy, "domain-config shop-planted.net") {
		t.Fatalf("cleartext = %+v", app.Cleartext)
	}
	got := app.Cleartext[0].Endpoints
	slices.Sort(got)
	if w := []string{"http://cordova.shop-planted.net/api", "http://dex.shop-planted.net/login"}; !slices.Equal(got, w) {
		t.Errorf("cleartext endpoints = %q, want %q", got, w)
	}
}

func TestXAPKReadsEverySplit(t *testing.T) {
	base, want := plantedAPK(t, true)
	split := zipOf(t, entry{"AndroidManifest.xml", plantedManifest("com.shop.planted", true), false},
		entry{"lib/arm64-v8a/libapp.so", goBinary(t, "linux", "https://elf.shop-planted.net/rpc"), false})
	xapk := zipOf(t, entry{"manifest.json", []byte(`{"package_name":"com.shop.planted"}`), false},
		entry{"config.arm64_v8a.apk", split, true}, entry{"com.shop.planted.apk", base, true})
	app := readApp(t, xapk, "shop.xapk")
	if app.Format != "xapk" || app.ID != "com.shop.planted" || len(app.Errors) > 0 {
		t.Errorf("format %s id %s errors %q", app.Format, app.ID, app.Errors)
	}
	want = append(want, planted{"native split", "lib/arm64-v8a/libapp.so", "https://elf.shop-planted.net/rpc"})
	rows, extra := recall(t, app, want)
	logRecall(t, rows, extra, len(want)+len(extra))
	for _, e := range app.Endpoints {
		if e.Value == "https://elf.shop-planted.net/rpc" && e.Sources[0].Container != "shop.xapk!config.arm64_v8a.apk" {
			t.Errorf("native split source = %+v", e.Sources[0])
		}
	}
}

func TestEndpointTargets(t *testing.T) {
	b, _ := plantedAPK(t, true)
	app := readApp(t, b, "shop.apk")
	var got, internal []string
	for _, e := range app.Endpoints {
		for _, tg := range e.Targets([]int{6379, 9200}) {
			got = append(got, fmt.Sprintf("%s:%d/%s", tg.Host, tg.Port, tg.Hint))
		}
		for _, tg := range e.TargetsIn(nil, gown.PartyScope{Internal: true}) {
			internal = append(internal, fmt.Sprintf("%s:%d/%s", tg.Host, tg.Port, tg.Hint))
		}
	}
	for _, w := range []string{"mongo.shop-planted.net:27017/mongodb", "shop-planted-1.firebaseio.com:443/firebase",
		"dex.shop-planted.net:80/", "dex.shop-planted.net:9200/", "search.shop-planted.net:9200/",
		// A Firebase Storage bucket, probed at its Cloud Storage virtual host.
		"shop-planted-1.appspot.com.storage.googleapis.com:443/gcs"} {
		if !slices.Contains(got, w) {
			t.Errorf("target %s missing from %q", w, got)
		}
	}
	// A private address is internal: probed only when private addresses
	// are allowed (gown app --allow-private).
	if slices.Contains(got, "10.20.30.40:27017/") || !slices.Contains(internal, "10.20.30.40:27017/") {
		t.Errorf("10.20.30.40:27017: first-party targets %q, with internal ones %q", got, internal)
	}
	for _, g := range got {
		if strings.Contains(g, "github.com") || strings.Contains(g, "appspot.com") && !strings.HasSuffix(g, ".storage.googleapis.com:443/gcs") {
			t.Errorf("third-party target, or a bucket not at its store's host: %s", g)
		}
	}
}

// plantedAAB assembles an app bundle as bundletool lays it out, every
// part in aapt2's protobuf form: the manifest, base/resources.pb and the
// network security config under base/res/xml. (No aapt2 or bundletool runs
// here, so the protobuf is written by androidtest, from the same field
// numbers the reader follows.)
func plantedAAB(t testing.TB) ([]byte, []planted) {
	man := androidtest.ProtoXML(androidtest.Node{Name: "manifest", Attrs: []androidtest.Attr{
		{Name: "package", Str: "com.shop.bundle"}, {Name: "versionName", Str: "9.1"}},
		Children: []androidtest.Node{
			{Name: "uses-sdk", Attrs: []androidtest.Attr{{Name: "targetSdkVersion", Type: typeInt, Data: 33}}},
			{Name: "application", Attrs: []androidtest.Attr{{Name: "networkSecurityConfig", Type: typeRef, Data: 0x7f020000, ResID: attrNSC}},
				Children: []androidtest.Node{
					{Name: "meta-data", Attrs: []androidtest.Attr{{Name: "name", Str: "api"}, {Name: "value", Str: "http://meta.bundle-planted.net/api"}}},
					{Name: "meta-data", Attrs: []androidtest.Attr{{Name: "name", Str: "search"}, {Name: "value", Type: typeRef, Data: 0x7f010002}}},
				}}}})
	table := androidtest.ProtoTable([]androidtest.ProtoEntry{
		{Type: "string", Name: "firebase_database_url", Str: "https://bundle-planted-1.firebaseio.com"},
		{Type: "string", Name: "google_api_key", Str: "AIzaSyB-1c2d3e4f5g6h7i8j9k0LmNoPqRsTuVw"},
		{Type: "string", Name: "search_url", Str: "http://search.bundle-planted.net:9200", Configs: []string{"http://search-fr.bundle-planted.net:9200"}},
		{Type: "xml", Name: "network_security_config", Str: "res/xml/network_security_config.xml"},
		{Type: "array", Name: "mirrors", Array: []string{"https://mirror.bundle-planted.net/v2"}},
	})
	nsc := androidtest.ProtoXML(androidtest.Node{Name: "network-security-config", Children: []androidtest.Node{
		{Name: "base-config", Attrs: []androidtest.Attr{{Name: "cleartextTrafficPermitted", Type: typeBool, Data: 0}}},
		{Name: "domain-config", Attrs: []androidtest.Attr{{Name: "cleartextTrafficPermitted", Type: typeBool, Data: 1}},
			Children: []androidtest.Node{{Name: "domain", Attrs: []androidtest.Attr{{Name: "includeSubdomains", Type: typeBool, Data: 1}}, Text: "search.bundle-planted.net"}}},
	}})
	b := zipOf(t, entry{"BundleConfig.pb", []byte{0x0a, 0x00}, false},
		entry{"base/manifest/AndroidManifest.xml", man, false},
		entry{"base/resources.pb", table, false},
		entry{"base/res/xml/network_security_config.xml", nsc, false},
		entry{"base/res/xml/endpoints.xml", androidtest.ProtoXML(androidtest.Node{Name: "endpoints", Attrs: []androidtest.Attr{{Name: "url", Str: "https://xml.bundle-planted.net/v1"}}}), false},
		entry{"base/dex/classes.dex", androidtest.Dex([]string{"rediss://cache.bundle-planted.net:6380"}), false},
		entry{"base/assets/c.json", []byte(`{"u":"https://assets.bundle-planted.net"}`), false},
		entry{"feature/resources.pb", androidtest.ProtoTable([]androidtest.ProtoEntry{{Type: "string", Name: "f", Str: "https://feature.bundle-planted.net"}}), false})
	return b, []planted{
		{"aab manifest meta-data", "base/manifest/AndroidManifest.xml", "http://meta.bundle-planted.net/api"},
		{"aab manifest meta-data", "base/manifest/AndroidManifest.xml", "http://search.bundle-planted.net:9200"}, // @string/search_url, through the table
		{"aab resources.pb", "base/resources.pb", "https://bundle-planted-1.firebaseio.com"},
		{"aab resources.pb", "base/resources.pb", "http://search.bundle-planted.net:9200"},
		{"aab resources.pb", "base/resources.pb", "http://search-fr.bundle-planted.net:9200"},
		{"aab resources.pb", "base/resources.pb", "https://mirror.bundle-planted.net/v2"},
		{"aab resources.pb", "feature/resources.pb", "https://feature.bundle-planted.net"},
		{"aab res/xml", "base/res/xml/endpoints.xml", "https://xml.bundle-planted.net/v1"},
		{"aab dex", "base/dex/classes.dex", "rediss://cache.bundle-planted.net:6380"},
		{"aab assets", "base/assets/c.json", "https://assets.bundle-planted.net"},
	}
}

func TestAAB(t *testing.T) {
	b, want := plantedAAB(t)
	app := readApp(t, b, "shop.aab")
	if app.Format != "aab" || app.ID != "com.shop.bundle" || app.Version != "9.1" || app.TargetSDK != 33 || len(app.Errors) > 0 {
		t.Errorf("metadata: %+v", app)
	}
	rows, extra := recall(t, app, want)
	logRecall(t, rows, extra, len(app.Endpoints))
	for _, e := range app.Endpoints {
		if e.Value == "https://bundle-planted-1.firebaseio.com" && e.Sources[0].Section != "string/firebase_database_url" {
			t.Errorf("firebase source %+v: want the resource's name", e.Sources[0])
		}
	}
	if len(app.Credentials) != 1 || app.Credentials[0].Rule != "google-api-key" || app.Credentials[0].Sources[0].Section != "string/google_api_key" {
		t.Errorf("credentials = %+v", app.Credentials)
	}
	// The network security config, found through the protobuf manifest and
	// resources.pb: clear text only to search.bundle-planted.net.
	var policies []string
	for _, c := range app.Cleartext {
		policies = append(policies, c.Policy+" "+strings.Join(c.Endpoints, ","))
	}
	if len(app.Cleartext) != 1 || app.Cleartext[0].Policy != "network security config base/res/xml/network_security_config.xml: domain-config search.bundle-planted.net cleartextTrafficPermitted=true" ||
		!slices.Equal(app.Cleartext[0].Endpoints, []string{"http://search.bundle-planted.net:9200"}) {
		t.Errorf("cleartext = %q", policies)
	}
}
