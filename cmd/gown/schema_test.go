package main

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gownscan/gown/internal/testbed"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// schemaBase is the $id prefix of the schemas in docs/schema.
const schemaBase = "https://github.com/gownscan/gown/docs/schema/"

// outputSchemas compiles every schema of docs/schema; a file there that
// does not compile fails the test.
func outputSchemas(t *testing.T) map[string]*jsonschema.Schema {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "docs", "schema", "*.schema.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no schemas in docs/schema: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	for _, f := range files {
		b, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(b)
		b.Close()
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if err := c.AddResource(schemaBase+filepath.Base(f), doc); err != nil {
			t.Fatal(err)
		}
	}
	out := map[string]*jsonschema.Schema{}
	for _, f := range files {
		s, err := c.Compile(schemaBase + filepath.Base(f))
		if err != nil {
			t.Fatalf("compile %s: %v", f, err)
		}
		out[strings.TrimSuffix(filepath.Base(f), ".schema.json")] = s
	}
	return out
}

// validateDoc checks one JSON document (not lines) against the schema
// named.
func validateDoc(t *testing.T, name, what, out string) {
	t.Helper()
	s := outputSchemas(t)[name]
	if s == nil {
		t.Fatalf("no docs/schema/%s.schema.json", name)
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(out))
	if err != nil {
		t.Fatalf("%s is not JSON: %v", what, err)
	}
	if err := s.Validate(doc); err != nil {
		t.Errorf("%s fails %s.schema.json: %v", what, name, err)
	}
}

// validateLines checks every line of out against the schema named and
// returns how many there were.
func validateLines(t *testing.T, schemas map[string]*jsonschema.Schema, name, what, out string) int {
	t.Helper()
	s := schemas[name]
	if s == nil {
		t.Fatalf("no docs/schema/%s.schema.json", name)
	}
	n := 0
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, maxLine)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		n++
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(sc.Text()))
		if err != nil {
			t.Fatalf("%s line %d is not JSON: %v", what, n, err)
		}
		if err := s.Validate(doc); err != nil {
			t.Errorf("%s line %d fails %s.schema.json: %v\n%.300s", what, n, name, err, sc.Text())
		}
	}
	if n == 0 {
		t.Errorf("%s wrote no line to check", what)
	}
	return n
}

// TestOutputSchemas runs gown against real servers and checks each kind of
// JSON line it writes against its schema in docs/schema: scan results with
// findings, exposure and compromise signs (the bed's planted Redis and
// MariaDB, a password-protected Redis, a closed port), an app's object and
// its findings, diff lines, scans, probers and version. A schema that
// accepts everything would pass too, so each is also shown a line it must
// refuse.
func TestOutputSchemas(t *testing.T) {
	isolateConfig(t)
	schemas := outputSchemas(t)
	bed := testbed.Require(t, "redis-open", "mariadb-open", "redis-password")
	db := filepath.Join(t.TempDir(), "s.db")
	var targets []string
	for _, n := range []string{"redis-open", "mariadb-open", "redis-password"} {
		targets = append(targets, bed.Get(n).Addr.String())
	}
	scan := append([]string{"scan", "--json", "--all", "--db", db, "--source", testbed.Source.String(), "-q", "127.0.0.1:1"}, targets...)
	code, out, errOut := gownRun(t, scan...)
	if code != exitOK {
		t.Fatalf("gown scan: exit %d: %s", code, errOut)
	}
	n := validateLines(t, schemas, "result", "gown scan --json", out)
	for _, want := range []string{`"exposure"`, `"signs"`, `"findings"`, `"status":"closed"`, `"status":"auth-required"`} {
		if !strings.Contains(out, want) {
			t.Errorf("the scan's lines lack %s: the schema was not shown that case", want)
		}
	}
	// A second scan, for gown diff, and gown scans.
	if code, _, errOut := gownRun(t, scan...); code != exitOK {
		t.Fatalf("second scan: %s", errOut)
	}
	code, diff, _ := gownRun(t, "diff", "1", "2", "--db", db, "--json")
	if code != exitOK {
		t.Fatalf("gown diff: exit %d", code)
	}
	nd := validateLines(t, schemas, "diff", "gown diff --json", diff)
	_, scans, _ := gownRun(t, "scans", "--db", db, "--json")
	ns := validateLines(t, schemas, "scan", "gown scans --json", scans)

	p := writeAPK(t, t.TempDir(), "k.apk", "http://api.k-gown.net/v1", "redis://admin:hunter2secret@cache.k-gown.net:6379")
	code, app, errOut := gownRun(t, "app", p, "--extract-only", "--json", "--no-store")
	if code != exitOK {
		t.Fatalf("gown app: exit %d: %s", code, errOut)
	}
	lines := strings.SplitN(app, "\n", 2)
	validateLines(t, schemas, "app", "gown app --json (the app)", lines[0])
	validateLines(t, schemas, "result", "gown app --json (its findings)", lines[1])

	// A watch run once over a closed port, then its status.
	if code, _, errOut := gownRun(t, "watch", "--once", "--every", "1h", "--name", "schema", "--db", db, "scan", "127.0.0.1:1", "-q"); code != exitOK {
		t.Fatalf("gown watch --once: exit %d: %s", code, errOut)
	}
	_, status, _ := gownRun(t, "watch", "status", "--db", db, "--json")
	validateDoc(t, "watch-status", "gown watch status --json", status)
	if !strings.Contains(status, `"name": "schema"`) {
		t.Errorf("gown watch status --json lacks the watch:\n%s", status)
	}

	_, probers, _ := gownRun(t, "probers", "--json")
	np := validateLines(t, schemas, "prober", "gown probers --json", probers)
	_, version, _ := gownRun(t, "version", "--json")
	validateLines(t, schemas, "version", "gown version --json", version)
	t.Logf("valid: %d result lines, %d diff lines, %d scans, an app and its findings, a watch's status, %d probers, version", n, nd, ns, np)

	// The controls: each schema refuses a line that breaks it.
	for name, bad := range map[string]string{
		"result":       `{"target":{"host":"h","ip":"127.0.0.1","port":1},"status":"wide-open","tls":{"mode":"none"},"start":"2026-12-05T00:00:00Z","duration_ns":1}`,
		"app":          `{"file":"x.apk","endpoints":[{"kind":"url","value":"http://a"}]}`,
		"diff":         `{"kind":"new","finding":{"id":"x"},"items_before":0,"items_after":0,"bytes_before":0,"bytes_after":0}`,
		"scan":         `{"id":0,"started":"2026-12-05T00:00:00Z","state":"done","args":[],"targets":0,"results":0,"findings":0}`,
		"prober":       `{"name":"Redis","ports":[0],"schemes":[]}`,
		"version":      `{"version":"","go":"1.26"}`,
		"fleet-report": `{"scan":{},"summary":{},"backends":[],"apps":[],"devices":[]}`,
		"watch-status": `[{"watch":{"id":1,"name":"w","command":"nmap","args":[],"schedule":"1h","created":"2026-12-05T00:00:00Z"},"runs":[],"deliveries":{},"undelivered":[]}]`,
	} {
		doc, _ := jsonschema.UnmarshalJSON(strings.NewReader(bad))
		if schemas[name].Validate(doc) == nil {
			t.Errorf("%s.schema.json accepts %s", name, bad)
		}
	}
	// fleet-report.schema.json is checked by TestFleetScanSample, which
	// makes a fleet report from a real fleet scan.
	if len(schemas) != 8 {
		t.Errorf("%d schemas in docs/schema, the tests know 8: add the new one with its real output", len(schemas))
	}
}
