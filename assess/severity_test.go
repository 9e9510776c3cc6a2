package assess

import (
	"bufio"
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

// TestSeverityDoc parses the rule table of docs/severity.md and checks it
// against Rules both ways: same ids, same severities.
func TestSeverityDoc(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "docs", "severity.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc := map[string]string{}
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "| rule | condition | severity | example |"):
			in = true
			continue
		case in && !strings.HasPrefix(line, "|"):
			in = false
		}
		if !in || strings.HasPrefix(line, "|---") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), " | ")
		if len(cells) != 4 {
			t.Errorf("rule row with %d cells: %s", len(cells), line)
			continue
		}
		id := strings.Trim(strings.TrimSpace(cells[0]), "`")
		if _, dup := doc[id]; dup {
			t.Errorf("rule %s has two rows", id)
		}
		doc[id] = strings.TrimSpace(cells[2])
	}
	if len(doc) == 0 {
		t.Fatal("no rule table found in docs/severity.md")
	}
	for _, r := range Rules {
		sev, ok := doc[r.ID]
		switch {
		case !ok:
			t.Errorf("rule %s is in assess.Rules but not in docs/severity.md", r.ID)
		case sev != r.Severity.String():
			t.Errorf("rule %s: docs say %s, code says %s", r.ID, sev, r.Severity)
		}
		delete(doc, r.ID)
	}
	for id := range doc {
		t.Errorf("rule %s is in docs/severity.md but not in assess.Rules", id)
	}
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
	app := &gown.App{ID: "com.example.shop",
		Credentials: []gown.Credential{{Rule: "google-api-key", Value: "AIza…[REDACTED]"}, {Rule: "google-api-key", Value: "AIza…[REDACTED]"}, {Rule: "conn-string-password", Value: "[REDACTED]"}},
		Cleartext:   []gown.Cleartext{{Policy: "base cleartextTrafficPermitted=true", Endpoints: []string{"http://api.shop.example/", "ws://chat.shop.example/"}}}}
	fs := AppFindings(app)
	if got := rules(fs); !slices.Equal(got, []string{"hardcoded-credential:medium", "hardcoded-credential:medium", "cleartext-transport:medium"}) {
		t.Fatalf("AppFindings = %v", got)
	}
	if fs[0].ID == fs[1].ID || !strings.Contains(fs[0].Title, "2 hard-coded google-api-key") {
		t.Errorf("findings %+v", fs)
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
