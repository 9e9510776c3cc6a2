package assess

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/probe"
)

// The engine's hook has Analyze's signature.
var _ = probe.Config{Analyze: Analyze}

// update rewrites generated documentation: go test ./assess -run TestSeverityDoc -update.
var update = flag.Bool("update", false, "rewrite the rule table of docs/severity.md from Rules")

// TestSeverityDoc checks that the rule table of docs/severity.md is the one
// Rules generates, row for row; -update writes it.
func TestSeverityDoc(t *testing.T) {
	path := filepath.Join("..", "docs", "severity.md")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const head = "| rule | condition | severity | example |\n|---|---|---|---|\n"
	doc := string(b)
	i := strings.Index(doc, head)
	if i < 0 {
		t.Fatal("no rule table found in docs/severity.md")
	}
	start := i + len(head)
	end := start
	for end < len(doc) && doc[end] == '|' {
		end += strings.IndexByte(doc[end:], '\n') + 1
	}
	var want strings.Builder
	for _, r := range ByDocOrder() {
		fmt.Fprintf(&want, "| `%s` | %s | %s | %s |\n", r.ID, r.Condition, r.Severity, r.Example)
	}
	if doc[start:end] == want.String() {
		return
	}
	if *update {
		if err := os.WriteFile(path, []byte(doc[:start]+want.String()+doc[end:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("docs/severity.md's rule table is not the one Rules generates; run go test ./assess -run TestSeverityDoc -update.\nwant:\n%s\nhave:\n%s", want.String(), doc[start:end])
}

func rules(fs []gown.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Rule+":"+f.Severity.String())
	}
	return out
}

// TestFindings: each case is a result and the findings (rule:severity, most
// severe first) the table gives it.
func TestFindings(t *testing.T) {
	withExposure := func(r *gown.Result, samples []gown.Sample) *gown.Result {
		Analyze(r, samples, false)
		return r
	}
	mysqlRoot := open("mysql", db("crm", 2204))
	mysqlRoot.Product, mysqlRoot.Version = "MariaDB", "10.11.6-MariaDB-0+deb12u1"
	mysqlRoot.Facts.Admin = "the root account logs in with an empty password" // as probe/mysql words it
	couch := open("couchdb")
	couch.Product, couch.Version = "CouchDB", "3.3.3"
	couch.Facts.Admin = "anyone is server admin (admin party)"
	// Details are for display: the words a prober shows there are no facts.
	detailsOnly := open("mysql", db("crm", 3))
	detailsOnly.Detail("login", "root with empty password")
	detailsOnly.Detail("admin_party", "true")
	detailsOnly.Detail("superuser", "on")
	ipOnly := withExposure(open("redis", db("db0", 9)), []gown.Sample{rec("db0", "", "seen:203.0.113.9", "", "1")})
	cases := []struct {
		name string
		r    *gown.Result
		want []string
	}{
		{"open with planted people", withExposure(open("mongodb", db("app", 3)), plantedSamples()), []string{"sensitive-data:critical", "open-store:high"}},
		{"open, root, sensitive", withExposure(mysqlRoot, plantedSamples()), []string{"admin-access:critical", "sensitive-data:critical", "open-store:high"}},
		{"admin party, empty", couch, []string{"admin-access:critical", "open-store-empty:medium"}},
		{"admin words in details alone are not admin", detailsOnly, []string{"open-store:high"}},
		{"admin fact on a refused store is not admin", func() *gown.Result {
			r := &gown.Result{Store: "postgres", Status: gown.StatusRestricted}
			r.Facts.Admin = "the session is a superuser's"
			return r
		}(), []string{"store-reachable:info"}},
		{"open with only IP addresses", ipOnly, []string{"open-store:high"}},
		{"ransomed and wiped", withExposure(open("mongodb", sys("admin"), db(testbed.RansomName, 1)),
			[]gown.Sample{rec(testbed.RansomName, "README", "1", "content", testbed.RansomMessage)}),
			[]string{"compromised:critical", "compromised:critical", "open-store:high"}},
		{"empty open store", open("elasticsearch"), []string{"open-store-empty:medium"}},
		{"honeypot sizes", withExposure(open("mongodb", gown.Database{Name: "u", Items: 90000, Bytes: 2048}), nil), []string{"open-store:high", "honeypot-suspected:info"}},
		{"auth without tls", &gown.Result{Store: "postgres", Product: "PostgreSQL", Version: "16.4", Status: gown.StatusAuthRequired, TLS: gown.TLS{Mode: gown.TLSNone}}, []string{"auth-without-tls:low"}},
		{"auth with tls", &gown.Result{Store: "postgres", Status: gown.StatusAuthRequired, TLS: gown.TLS{Mode: gown.TLSRequired}}, nil},
		{"outdated and restricted", &gown.Result{Store: "redis", Product: "Redis", Version: "5.0.7", Status: gown.StatusRestricted}, []string{"outdated-version:low", "store-reachable:info"}},
		{"unknown service", &gown.Result{Status: gown.StatusUnknown}, nil},
		{"not the store", &gown.Result{Store: "redis", Status: gown.StatusNotService}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := Findings(c.r)
			if got := rules(fs); !slices.Equal(got, c.want) {
				t.Fatalf("findings %v, want %v", got, c.want)
			}
			ids := map[string]bool{}
			for _, f := range fs {
				if ids[f.ID] {
					t.Errorf("two findings share id %s", f.ID)
				}
				ids[f.ID] = true
				if c.r.Status == gown.StatusOpen && c.r.Inventory != nil && f.Items != c.r.Inventory.Items {
					t.Errorf("%s carries %d items, the store holds %d", f.Rule, f.Items, c.r.Inventory.Items)
				}
				if c.r.Exposure != nil && !slices.Equal(f.Classes, ExposedClasses(c.r.Exposure)) {
					t.Errorf("%s carries classes %v", f.Rule, f.Classes)
				}
			}
		})
	}
}

// TestFindingIDsStable: the open-store id is the one stores already hold,
// and a re-scan that finds more gives the same ids.
func TestFindingIDsStable(t *testing.T) {
	r := open("redis", db("db0", 100))
	f := Findings(r)[0]
	if f.ID != gown.FindingID("open-store", "redis", r.Target) {
		t.Errorf("open-store id %s is not FindingID(open-store, redis, target)", f.ID)
	}
	a := Findings(func() *gown.Result { x := open("mongodb", db(testbed.RansomName, 1)); Analyze(x, nil, false); return x }())
	b := Findings(func() *gown.Result { x := open("mongodb", db(testbed.RansomName, 1)); Analyze(x, nil, false); return x }())
	if !slices.EqualFunc(a, b, func(x, y gown.Finding) bool { return x.ID == y.ID }) {
		t.Error("ids differ between two scans of the same store")
	}
}

func TestAppFindings(t *testing.T) {
	src := func(entry string, off int64) []gown.Source {
		return []gown.Source{{Container: "shop.apk", Entry: entry, Section: "dex strings", Offset: off}}
	}
	app := &gown.App{ID: "com.example.shop", File: "shop.apk",
		Credentials: []gown.Credential{{Rule: "google-api-key", Value: "AIza…[REDACTED]", Sources: src("classes.dex", 10)},
			{Rule: "google-api-key", Value: "AIza…[REDACTED]", Sources: src("classes2.dex", 20)},
			{Rule: "conn-string-password", Value: "[REDACTED]", Host: "db.shop.example", Sources: src("assets/config.json", 30)}},
		Endpoints: []gown.Endpoint{{Kind: gown.KindURL, Value: "http://api.shop.example/", Sources: src("res/xml/net.xml", 40)},
			{Kind: gown.KindURL, Value: "ws://chat.shop.example/", Sources: src("classes.dex", 50)}},
		Cleartext: []gown.Cleartext{{Policy: "base cleartextTrafficPermitted=true", Endpoints: []string{"http://api.shop.example/", "ws://chat.shop.example/"}}}}
	fs := AppFindings(app)
	if got := rules(fs); !slices.Equal(got, []string{"hardcoded-credential:medium", "hardcoded-credential:medium", "cleartext-transport:medium"}) {
		t.Fatalf("AppFindings = %v", got)
	}
	if fs[0].ID == fs[1].ID || !strings.Contains(fs[0].Title, "2 hard-coded google-api-key") {
		t.Errorf("findings %+v", fs)
	}
	if want := "com.example.shop holds a store password in 1 connection string (for db.shop.example)"; fs[1].Title != want {
		t.Errorf("conn-string title %q, want %q", fs[1].Title, want)
	}
	if !strings.Contains(fs[2].Title, "(base cleartextTrafficPermitted=true)") || !strings.Contains(fs[2].Title, "ws://chat.shop.example/") {
		t.Errorf("clear-text title %q names neither the policy nor the endpoints", fs[2].Title)
	}
	for i, want := range [][]int64{{10, 20}, {30}, {40, 50}} {
		var got []int64
		for _, l := range fs[i].Locations {
			got = append(got, l.Offset)
		}
		if !slices.Equal(got, want) || fs[i].Locations[0].Container != "shop.apk" {
			t.Errorf("%s locations %+v, want offsets %v in shop.apk", fs[i].Rule, fs[i].Locations, want)
		}
	}
	for _, f := range fs {
		if f.Target != (gown.Target{Host: "com.example.shop", Origin: "app"}) {
			t.Errorf("%s target %+v", f.Rule, f.Target)
		}
	}
	if AppFindings(&gown.App{ID: "clean"}) != nil {
		t.Error("a clean app has findings")
	}
}

func TestOutdated(t *testing.T) {
	for _, c := range []struct {
		product, version string
		want             bool
	}{
		{"Elasticsearch", "7.10.2", true}, {"Elasticsearch", "7.17.25", false}, {"Elasticsearch", "8.15.0", false},
		{"MariaDB", "10.5.23-MariaDB", true}, {"MariaDB", "5.5.5-10.11.6-MariaDB-0+deb12u1", false}, {"MariaDB", "10.11.6-MariaDB-0+deb12u1", false},
		{"PostgreSQL", "13.16", true}, {"PostgreSQL", "16.4 (Debian 16.4-1.pgdg120+1)", false},
		{"Redis", "7.0.15", false}, {"Redis", "5.0.7", true}, {"MySQL", "5.7.44", true}, {"MySQL", "8.0.39", false},
		{"MongoDB", "6.0.1", true}, {"memcached", "1.4.0", false}, {"Redis", "", false}, {"Redis", "unstable", false},
	} {
		if _, got := outdated(c.product, c.version); got != c.want {
			t.Errorf("outdated(%s, %s) = %v, want %v", c.product, c.version, got, c.want)
		}
	}
}

// TestAdminTitle: the admin finding's title ends with the prober's own
// words for the access, as Facts.Admin gives them.
func TestAdminTitle(t *testing.T) {
	r := open("couchdb")
	r.Product = "CouchDB"
	r.Facts.Admin = "anyone is server admin (admin party)"
	for _, f := range Findings(r) {
		if f.Rule == RuleAdmin {
			if want := "CouchDB gives admin access without authentication: anyone is server admin (admin party)"; f.Title != want {
				t.Errorf("title %q, want %q", f.Title, want)
			}
			return
		}
	}
	t.Error("no admin-access finding")
}
