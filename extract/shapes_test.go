package extract

import (
	"crypto/x509/pkix"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/extract/android/androidtest"
	"github.com/gownscan/gown/extract/unity/unitytest"
	"howett.net/plist"
)

// Recall and precision per shape: an app built here plants one endpoint of
// each shape (schemes, bare host:port, hosts tied to the app by each fact
// of its identity, unknown, third-party, development and internal hosts)
// with the party it must get, among decoys that must give nothing. A
// planted endpoint is found when extraction gives its value from the right
// entry, and right when it also has the right party; precision is right
// over everything the shape's entries gave that is not a third-party
// decoy.

// shape is one planted endpoint.
type shape struct {
	shape, entry, value string
	party               gown.Party
}

// shapesAPK is an APK of com.northwind.mobile, signed by O=Contoso Ltd,
// with a network security config for fabrikam-api.net, a deep link to
// links.tailspin.io and Firebase project wingtip-prod-7, and a split
// holding a bare host:port.
func shapesAPK(t testing.TB) ([]byte, []shape) {
	sig, _ := signatureBlockFor(t, pkix.Name{CommonName: "Northwind release", Organization: []string{"Contoso Ltd"}, Country: []string{"US"}})
	man := androidtest.XML(androidtest.Node{Name: "manifest", Attrs: []androidtest.Attr{{Name: "versionName", Str: "3.1", ResID: attrVersion}, {Name: "package", Str: "com.northwind.mobile"}},
		Children: []androidtest.Node{
			{Name: "uses-sdk", Attrs: []androidtest.Attr{{Name: "targetSdkVersion", Type: typeInt, Data: 34, ResID: attrTarget}}},
			{Name: "application", Attrs: []androidtest.Attr{{Name: "networkSecurityConfig", Type: typeRef, Data: 0x7f020000, ResID: attrNSC}},
				Children: []androidtest.Node{{Name: "activity", Attrs: []androidtest.Attr{{Name: "name", Str: ".Main", ResID: attrName}},
					Children: []androidtest.Node{{Name: "intent-filter", Children: []androidtest.Node{
						{Name: "data", Attrs: []androidtest.Attr{{Name: "scheme", Str: "https"}, {Name: "host", Str: "links.tailspin.io"}}}}}}}}},
		}})
	table := androidtest.Table([]androidtest.Entry{
		{Type: "string", Name: "project_id", Str: "wingtip-prod-7"},
		{Type: "string", Name: "firebase_database_url", Str: "https://wingtip-prod-7-default-rtdb.europe-west1.firebasedatabase.app"},
		{Type: "string", Name: "sync_base", Str: "https://sync.northwind.com"},  // 0x7f010002, read by classes3.dex
		{Type: "string", Name: "events_host", Str: "events.northwind.com:6379"}, // 0x7f010003
		{Type: "xml", Name: "network_security_config", Str: "res/xml/network_security_config.xml"},
	})
	nsc := androidtest.XML(androidtest.Node{Name: "network-security-config", Children: []androidtest.Node{
		{Name: "domain-config", Attrs: []androidtest.Attr{{Name: "cleartextTrafficPermitted", Type: typeBool, Data: 0}},
			Children: []androidtest.Node{{Name: "domain", Attrs: []androidtest.Attr{{Name: "includeSubdomains", Type: typeBool, Data: 1}}, Text: "fabrikam-api.net"}}},
	}})
	dex := androidtest.Dex([]string{"Lcom/northwind/Main;", "Foo.java:120", "Thread.run:100", "index.js:8080", "android.intent.action.VIEW",
		"https://api.northwind.com/v1", "https://cdn.contoso-media.net/img", "https://edge.fabrikam-api.net/v2", "https://api.tailspin.io/graphql",
		"https://telemetry.stranger-metrics.io/collect", "mongodb://203.0.113.50:27017/app", "https://graph.facebook.com/v18.0",
		"http://10.0.2.2:3000/api", "http://127.0.0.1:8080/x", "http://devbox.local:8080/api", "ws://localhost:9000/ws",
		"postgres://pg.northwind.corp:5432/app", "https://search.internal:9200", "http://api.lan/x", "192.168.1.20:6379",
		"tcp://broker.northwind.com:1883", "mqtt://mqtt.northwind.com", "mqtts://mqtt.northwind.com:8883", "amqps://mq.northwind.com/vhost",
		"kafka://kafka.northwind.com:9092", "nats://nats.northwind.com:4222", "dns:///grpc.northwind.com:443", "wss://push.northwind.com/socket"})
	config := []byte("bootstrap.servers=kafka1.northwind.com:9092,kafka2.northwind.com:9092\nrpc=grpc.northwind.com:50051\napi=api.northwind.com:8443\n")
	splitMan := androidtest.XML(androidtest.Node{Name: "manifest", Attrs: []androidtest.Attr{{Name: "package", Str: "com.northwind.mobile"}, {Name: "split", Str: "config.arm64_v8a"}}})
	// classes2.dex: built by smali from android/testdata/dexflow/Api.smali
	// (TestDexBuilt checks it is what smali writes): three endpoints made
	// at run time from constants kept apart.
	built, err := os.ReadFile(filepath.Join("android", "testdata", "dexflow", "Api.dex"))
	if err != nil {
		t.Fatal(err)
	}
	// classes3.dex: from android/testdata/dexflow/Res.smali
	// (TestDexBuiltResources): an Activity joins string resources read
	// with getString(R.string.sync_base) and Resources.getString with
	// constants.
	fromRes, err := os.ReadFile(filepath.Join("android", "testdata", "dexflow", "Res.dex"))
	if err != nil {
		t.Fatal(err)
	}
	// classes4.dex: from android/testdata/dexflow/Fields.smali
	// (TestDexBuiltInstanceFields): a host and a port in instance fields
	// set by the constructor, joined in another method.
	fromFields, err := os.ReadFile(filepath.Join("android", "testdata", "dexflow", "Fields.dex"))
	if err != nil {
		t.Fatal(err)
	}
	// assets/index.android.bundle in the split: Hermes bytecode compiled by
	// the real hermesc from hermes/testdata/bundle.js (TestRealBundle
	// checks it is what hermesc writes).
	hbc, err := os.ReadFile(filepath.Join("hermes", "testdata", "bundle.hbc"))
	if err != nil {
		t.Fatal(err)
	}
	splitEntries := []entry{{"AndroidManifest.xml", splitMan, false},
		{"assets/edge.properties", []byte("edge=edge.northwind.com:7443\n"), false},
		{"assets/hermes/index.android.bundle", hbc, false}}
	// A native library built by gcc whose endpoint is a UTF-16 literal
	// (char16_t, as C++ and Windows-minded code write them).
	lib := gccLib(t, "#include <uchar.h>\nconst char16_t *api = u\"https://utf16.northwind.com/v2\";\nconst char *name = \"native\";\n")
	if lib != nil {
		splitEntries = append(splitEntries, entry{"lib/arm64-v8a/libnative.so", lib, false})
	}
	split := zipOf(t, splitEntries...)
	// assemblies/Northwind.dll: an assembly's UTF-16 user strings, LZ4
	// compressed by the real lz4 into Xamarin's XALZ wrapper
	// (xamarin/testdata; TestDecompress checks it).
	xalzDLL, err := os.ReadFile(filepath.Join("xamarin", "testdata", "Northwind.dll.xalz"))
	if err != nil {
		t.Fatal(err)
	}
	base := zipOf(t, entry{"AndroidManifest.xml", man, false}, entry{"resources.arsc", table, true},
		entry{"res/xml/network_security_config.xml", nsc, false}, entry{"classes.dex", dex, false}, entry{"classes2.dex", built, false},
		entry{"classes3.dex", fromRes, false}, entry{"classes4.dex", fromFields, false},
		entry{"assets/kafka.properties", config, false}, entry{"META-INF/CERT.RSA", sig, false},
		entry{"assemblies/Northwind.dll", xalzDLL, false},
		entry{"assets/bin/Data/Managed/Metadata/global-metadata.dat", unitytest.Metadata([]string{"https://api.northwind.com/v1/score",
			"wss://lobby.northwind.com/socket", "Player", "mongodb://stats.northwind.com:27017/game"}), false},
		entry{"assets/index.android.bundle", []byte(`var e=require(1),HOST="cache.northwind.com",PORT=6379,t='gw.northwind.com';` +
			`__d(function(){const u="redis://"+HOST+":"+PORT+"/0";fetch(` + "`https://${t}:8443/v1/login`" + `)});`), false})
	xapk := zipOf(t, entry{"manifest.json", []byte(`{"package_name":"com.northwind.mobile"}`), false},
		entry{"config.arm64_v8a.apk", split, true}, entry{"com.northwind.mobile.apk", base, true})
	d := "classes.dex"
	var native []shape
	if lib != nil {
		native = append(native, shape{"native UTF-16 literal (gcc .so)", "lib/arm64-v8a/libnative.so", "https://utf16.northwind.com/v2", gown.PartyFirst})
	}
	return xapk, append(native, []shape{
		{"party: package id", d, "https://api.northwind.com/v1", gown.PartyFirst},
		{"party: signer subject", d, "https://cdn.contoso-media.net/img", gown.PartyFirst},
		{"party: network security config", d, "https://edge.fabrikam-api.net/v2", gown.PartyFirst},
		{"party: deep-link host", d, "https://api.tailspin.io/graphql", gown.PartyFirst},
		{"party: firebase project", "resources.arsc", "https://wingtip-prod-7-default-rtdb.europe-west1.firebasedatabase.app", gown.PartyFirst},
		{"party: unknown", d, "https://telemetry.stranger-metrics.io/collect", gown.PartyUnknown},
		{"party: unknown", d, "mongodb://203.0.113.50:27017/app", gown.PartyUnknown},
		{"party: third", d, "https://graph.facebook.com/v18.0", gown.PartyThird},
		{"party: dev", d, "http://10.0.2.2:3000/api", gown.PartyDev},
		{"party: dev", d, "http://127.0.0.1:8080/x", gown.PartyDev},
		{"party: dev", d, "http://devbox.local:8080/api", gown.PartyDev},
		{"party: dev", d, "ws://localhost:9000/ws", gown.PartyDev},
		{"party: internal", d, "postgres://pg.northwind.corp:5432/app", gown.PartyInternal},
		{"party: internal", d, "https://search.internal:9200", gown.PartyInternal},
		{"party: internal", d, "http://api.lan/x", gown.PartyInternal},
		{"party: internal", d, "192.168.1.20:6379", gown.PartyInternal},
		{"scheme: tcp://", d, "tcp://broker.northwind.com:1883", gown.PartyFirst},
		{"scheme: mqtt(s)://", d, "mqtt://mqtt.northwind.com", gown.PartyFirst},
		{"scheme: mqtt(s)://", d, "mqtts://mqtt.northwind.com:8883", gown.PartyFirst},
		{"scheme: amqp(s)://", d, "amqps://mq.northwind.com/vhost", gown.PartyFirst},
		{"scheme: kafka", d, "kafka://kafka.northwind.com:9092", gown.PartyFirst},
		{"scheme: kafka", "assets/kafka.properties", "kafka1.northwind.com:9092", gown.PartyFirst},
		{"scheme: kafka", "assets/kafka.properties", "kafka2.northwind.com:9092", gown.PartyFirst},
		{"scheme: nats://", d, "nats://nats.northwind.com:4222", gown.PartyFirst},
		{"scheme: grpc host:port", d, "grpc.northwind.com:443", gown.PartyFirst},
		{"scheme: grpc host:port", "assets/kafka.properties", "grpc.northwind.com:50051", gown.PartyFirst},
		{"scheme: ws(s)://", d, "wss://push.northwind.com/socket", gown.PartyFirst},
		{"bare host:port", "assets/kafka.properties", "api.northwind.com:8443", gown.PartyFirst},
		{"bare host:port (split APK)", "assets/edge.properties", "edge.northwind.com:7443", gown.PartyFirst},
		{"RN Hermes bytecode (hermesc)", "assets/hermes/index.android.bundle", "https://api.northwind.com/v1/login", gown.PartyFirst},
		{"RN Hermes bytecode (hermesc)", "assets/hermes/index.android.bundle", "wss://push.northwind.com/socket", gown.PartyFirst},
		{"RN Hermes bytecode (hermesc)", "assets/hermes/index.android.bundle", "mqtts://iot.northwind.com:8883", gown.PartyFirst},
		{"RN Hermes bytecode (hermesc)", "assets/hermes/index.android.bundle", "https://cafe.northwind.com/men%C3%BC", gown.PartyFirst},
		{"RN Hermes bytecode (hermesc)", "assets/hermes/index.android.bundle", "https://overflow.northwind.com/" + strings.Repeat("x", 300), gown.PartyFirst},
		{"Xamarin XALZ assembly (UTF-16 literals)", "assemblies/Northwind.dll", "https://api.northwind.com/xamarin/v1", gown.PartyFirst},
		{"Xamarin XALZ assembly (UTF-16 literals)", "assemblies/Northwind.dll", "redis://cache.northwind.com:6379", gown.PartyFirst},
		{"Unity il2cpp string literals", "assets/bin/Data/Managed/Metadata/global-metadata.dat", "https://api.northwind.com/v1/score", gown.PartyFirst},
		{"Unity il2cpp string literals", "assets/bin/Data/Managed/Metadata/global-metadata.dat", "wss://lobby.northwind.com/socket", gown.PartyFirst},
		{"Unity il2cpp string literals", "assets/bin/Data/Managed/Metadata/global-metadata.dat", "mongodb://stats.northwind.com:27017/game", gown.PartyFirst},
		{"run-time: JS concatenation", "assets/index.android.bundle", "redis://cache.northwind.com:6379/0", gown.PartyFirst},
		{"run-time: JS template literal", "assets/index.android.bundle", "https://gw.northwind.com:8443/v1/login", gown.PartyFirst},
		{"run-time: dex StringBuilder", "classes2.dex", "redis://cache.northwind.com:6379", gown.PartyFirst},
		{"run-time: dex String.concat", "classes2.dex", "http://search.northwind.com:9200/_search", gown.PartyFirst},
		{"dex literal (the concat's first part)", "classes2.dex", "http://search.northwind.com", gown.PartyFirst},
		{"run-time: dex String.format", "classes2.dex", "mongodb://mongo.northwind.com:27017/app", gown.PartyFirst},
		{"run-time: dex getString(R.string) joined", "classes3.dex", "https://sync.northwind.com:9200/_search", gown.PartyFirst},
		{"run-time: dex getString(R.string) joined", "classes3.dex", "redis://events.northwind.com:6379", gown.PartyFirst},
		{"run-time: dex instance fields", "classes4.dex", "amqp://queue.northwind.com:5672", gown.PartyFirst},
		{"dex literal (the concat's first part)", "classes4.dex", "https://api.northwind.com", gown.PartyFirst},
		{"string resource", "resources.arsc", "https://sync.northwind.com", gown.PartyFirst},
		{"string resource", "resources.arsc", "events.northwind.com:6379", gown.PartyFirst},
	}...)
}

// shapesIPA is an IPA of com.fourthcoffee.app whose binary's entitlements
// name the associated domain coffeeshop-links.com and whose
// GoogleService-Info.plist names Firebase project brew-42.
func shapesIPA(t testing.TB) ([]byte, []shape) {
	info, err := plist.Marshal(map[string]any{"CFBundleIdentifier": "com.fourthcoffee.app", "CFBundleExecutable": "Coffee"}, plist.BinaryFormat)
	if err != nil {
		t.Fatal(err)
	}
	gsi, err := plist.Marshal(map[string]any{"PROJECT_ID": "brew-42", "DATABASE_URL": "https://brew-42.firebaseio.com"}, plist.XMLFormat)
	if err != nil {
		t.Fatal(err)
	}
	bin := machoWith([]machoSection{{"__TEXT", "__text", make([]byte, 64)},
		{"__TEXT", "__cstring", []byte("https://api.fourthcoffee.com/v2\x00https://api.brewhouse-links.org/v1\x00https://api.coffeeshop-links.com/v1\x00https://ingest.stranger-metrics.io/e\x00" +
			"<key>com.apple.developer.associated-domains</key><array><string>applinks:go.coffeeshop-links.com</string></array>\x00" +
			"https://\x00adj.fourthcoffee.com/v3\x00setValue:forKey:\x00mq.fourthcoffee.com\x00:8883\x00")}})
	b := zipOf(t, entry{"Payload/Coffee.app/Info.plist", info, false},
		entry{"Payload/Coffee.app/config.xml", []byte(`<?xml version='1.0' encoding='utf-8'?><widget id="com.fourthcoffee.app" xmlns="http://www.w3.org/ns/widgets"><access origin="https://api.brewery-partner.com" /></widget>`), false},
		entry{"Payload/Coffee.app/www/index.html", []byte(`<script>fetch("https://orders.brewery-partner.com/v2")</script>`), false},
		entry{"Payload/Coffee.app/GoogleService-Info.plist", gsi, false},
		entry{"Payload/Coffee.app/embedded.mobileprovision", []byte("0\x82\x10\x00\x06\x09*\x86H\x86\xf7\r\x01\x07\x02<?xml version=\"1.0\"?><plist><dict><key>Entitlements</key><dict>" +
			"<key>com.apple.developer.associated-domains</key><array><string>applinks:*.brewhouse-links.org</string></array></dict></dict></plist>\x00\x01"), false},
		entry{"Payload/Coffee.app/Coffee", bin, false})
	m := "Payload/Coffee.app/Coffee"
	return b, []shape{
		{"party: bundle id (iOS)", m, "https://api.fourthcoffee.com/v2", gown.PartyFirst},
		{"party: associated domain (iOS)", m, "https://api.coffeeshop-links.com/v1", gown.PartyFirst},
		{"party: provisioning profile domain (iOS)", m, "https://api.brewhouse-links.org/v1", gown.PartyFirst},
		{"party: firebase project (iOS)", "Payload/Coffee.app/GoogleService-Info.plist", "https://brew-42.firebaseio.com", gown.PartyFirst},
		{"party: unknown", m, "https://ingest.stranger-metrics.io/e", gown.PartyUnknown},
		{"run-time: adjacent __cstring literals", m, "https://adj.fourthcoffee.com/v3", gown.PartyFirst},
		{"run-time: adjacent __cstring literals", m, "mq.fourthcoffee.com:8883", gown.PartyFirst},
		{"party: cordova access origin (iOS)", "Payload/Coffee.app/www/index.html", "https://orders.brewery-partner.com/v2", gown.PartyFirst},
		{"Cordova config.xml", "Payload/Coffee.app/config.xml", "https://api.brewery-partner.com", gown.PartyFirst},
	}
}

// shapesHybrid is a Capacitor app (io.ionic.starter, served as
// app.contoso-shop.com, navigating to *.fabrikam-pay.net) holding a
// Cordova config as Android compiles it (widget id, <access origin>,
// <allow-navigation href>): hosts its package name does not tie.
func shapesHybrid(t testing.TB) ([]byte, []shape) {
	man := androidtest.XML(androidtest.Node{Name: "manifest", Attrs: []androidtest.Attr{{Name: "package", Str: "io.ionic.starter"}}})
	cordova := androidtest.XML(androidtest.Node{Name: "widget", Attrs: []androidtest.Attr{{Name: "id", Str: "io.ionic.starter"}}, Children: []androidtest.Node{
		{Name: "access", Attrs: []androidtest.Attr{{Name: "origin", Str: "https://api.tailwind-traders.net"}}},
		{Name: "allow-navigation", Attrs: []androidtest.Attr{{Name: "href", Str: "https://*.tailwind-auth.net/*"}}},
		{Name: "allow-intent", Attrs: []androidtest.Attr{{Name: "href", Str: "https://*/*"}}},
	}})
	cfg := []byte(`{"appId":"io.ionic.starter","appName":"Starter","webDir":"www","server":{"hostname":"app.contoso-shop.com","androidScheme":"https","allowNavigation":["*.fabrikam-pay.net"]}}`)
	page := []byte(`<script src="https://cdn.jsdelivr.net/npm/x.js"></script><script>fetch("https://api.contoso-shop.com/v1");` +
		`fetch("https://checkout.fabrikam-pay.net/pay");fetch("https://data.tailwind-traders.net/x");fetch("https://login.tailwind-auth.net/");` +
		`fetch("https://api.unrelated-site.io/track")</script>`)
	b := zipOf(t, entry{"AndroidManifest.xml", man, false}, entry{"assets/capacitor.config.json", cfg, false},
		entry{"res/xml/config.xml", cordova, false}, entry{"assets/public/index.html", page, false})
	p := "assets/public/index.html"
	return b, []shape{
		{"party: capacitor server.hostname", p, "https://api.contoso-shop.com/v1", gown.PartyFirst},
		{"party: capacitor allowNavigation", p, "https://checkout.fabrikam-pay.net/pay", gown.PartyFirst},
		{"party: cordova access origin", p, "https://data.tailwind-traders.net/x", gown.PartyFirst},
		{"party: cordova allow-navigation", p, "https://login.tailwind-auth.net/", gown.PartyFirst},
		{"Cordova config.xml", "res/xml/config.xml", "https://api.tailwind-traders.net", gown.PartyFirst},
		{"party: unknown", p, "https://api.unrelated-site.io/track", gown.PartyUnknown},
		{"party: third", p, "https://cdn.jsdelivr.net/npm/x.js", gown.PartyThird},
	}
}

// shapeRow is one line of the shapes table.
type shapeRow struct {
	planted, found, right int
}

func TestRecallPerShape(t *testing.T) {
	rows := map[string]*shapeRow{}
	var extra, identities []string
	for _, build := range []func(testing.TB) ([]byte, []shape){shapesAPK, shapesIPA, shapesHybrid, shapesFlutter, shapesFlutterIOS, shapesSwift} {
		b, want := build(t)
		app := readApp(t, b, "shapes")
		if len(app.Errors) > 0 {
			t.Errorf("errors: %q", app.Errors)
		}
		extra = append(extra, tallyShapes(t, rows, app, want)...)
		identities = append(identities, strings.Join(app.Identity, "; "))
	}
	for _, x := range extra {
		t.Errorf("endpoint nobody planted: %s", x)
	}
	logShapes(t, rows, extra, identities)
}

// tallyShapes adds one app's results to rows and returns the endpoints
// nobody planted that are not third party.
func tallyShapes(t *testing.T, rows map[string]*shapeRow, app *gown.App, want []shape) []string {
	got := map[string]gown.Endpoint{}
	for _, e := range app.Endpoints {
		got[e.Value] = e
	}
	planted := map[string]bool{}
	for _, w := range want {
		planted[w.value] = true
		r := rows[w.shape]
		if r == nil {
			r = &shapeRow{}
			rows[w.shape] = r
		}
		r.planted++
		e, ok := got[w.value]
		if !ok || !slices.ContainsFunc(e.Sources, func(s gown.Source) bool { return s.Entry == w.entry }) {
			t.Errorf("%s: %s not found in %s", w.shape, w.value, w.entry)
			continue
		}
		r.found++
		if strings.HasPrefix(w.shape, "run-time") {
			t.Logf("%s: %s (confidence %.2f) at %s @%d, parts %+v", w.shape, e.Value, e.Confidence, e.Sources[0].Section, e.Sources[0].Offset, e.Parts)
			if len(e.Parts) < 2 || e.Confidence >= 0.6 {
				t.Errorf("%s: %s: parts %+v, confidence %.2f: want its parts and a lower confidence", w.shape, w.value, e.Parts, e.Confidence)
			}
		}
		if e.Party != w.party {
			t.Errorf("%s: %s is %q, want %q", w.shape, w.value, e.Party, w.party)
			continue
		}
		r.right++
	}
	var extra []string
	for _, e := range app.Endpoints {
		if !planted[e.Value] && e.Party != gown.PartyThird && !derivedFirestore(app, e) {
			extra = append(extra, fmt.Sprintf("%s (%s, %s)", e.Value, e.Party, e.Sources[0].Entry))
		}
	}
	return extra
}

func logShapes(t *testing.T, rows map[string]*shapeRow, extra, identities []string) {
	names := make([]string, 0, len(rows))
	for n := range rows {
		names = append(names, n)
	}
	slices.Sort(names)
	var sb strings.Builder
	fmt.Fprintf(&sb, "%-46s %7s %5s %11s %6s %9s\n", "shape", "planted", "found", "right party", "recall", "precision")
	var tp, tf, tr int
	for _, n := range names {
		r := rows[n]
		fmt.Fprintf(&sb, "%-46s %7d %5d %11d %5.0f%% %8.0f%%\n", n, r.planted, r.found, r.right,
			100*float64(r.right)/float64(r.planted), 100*float64(r.right)/float64(max(r.found, 1)))
		tp, tf, tr = tp+r.planted, tf+r.found, tr+r.right
	}
	fmt.Fprintf(&sb, "%-46s %7d %5d %11d %5.0f%% %8.0f%%  (+%d unplanted)\n", "all", tp, tf, tr,
		100*float64(tr)/float64(tp), 100*float64(tr)/float64(max(tf+len(extra), 1)), len(extra))
	t.Logf("recall and precision per shape (app built by the test; right = found with the right party):\n%s\nidentities: %q", sb.String(), identities)
}
