package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gownscan/gown/internal/testbed"
)

// Credentials given in target URLs: gown never uses them (it does not log
// in with a given password), and must neither store nor print them.
const (
	urlRedisPassword = "s3cretpass"
	urlMongoUser     = "mongouser"
	urlMongoPassword = "m0ngopw"
)

// namesPlanted lists the test-bed servers the test plants secrets in names
// into (testbed.PlantNames), on top of the corpus every open store holds.
var namesPlanted = []string{"redis-open", "mongodb-open", "postgres-trust", "mariadb-open", "opensearch-open", "couchdb-party"}

// TestNoPlantedSecretInAnyOutput scans the real test-bed servers holding
// the planted corpus (personal data, card numbers, tokens, password hashes),
// and secrets in names (a card glued to a prefix, tokens as key, collection
// and database names, an e-mail address as a database, index and collection
// name), with sampling on, into a SQLite results store; two of the targets
// are given as URLs with credentials. It then writes every report format
// from that store, lists the scans and diffs them. No planted secret may
// appear whole, nor a planted name's secret in part, in the table, the
// JSON Lines, any report, gown scans, gown diff, their standard error, or
// the bytes of the database file and its WAL.
func TestNoPlantedSecretInAnyOutput(t *testing.T) {
	bed := testbed.Require(t)
	for _, name := range namesPlanted {
		if err := bed.Get(name).PlantNames(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	var targets []string
	planted := 0
	for _, s := range bed.Servers {
		if len(s.Want.Classes) > 0 {
			planted++
		}
		// The scheme is the hint: no detection needed.
		switch {
		case s.Kind == "firebase":
			continue // reached by URL, not address; covered by its own tests
		case s.Name == "redis-open":
			targets = append(targets, "redis://:"+urlRedisPassword+"@"+s.Addr.String())
		case s.Name == "mongodb-open":
			targets = append(targets, "mongodb://"+urlMongoUser+":"+urlMongoPassword+"@"+s.Addr.String()+"/admin?authSource=admin")
		default:
			targets = append(targets, s.Kind+"://"+s.Addr.String())
		}
	}
	if planted == 0 {
		t.Fatal("no server holds the corpus: the test proves nothing")
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "gown.db")
	outputs := map[string][]byte{}
	gown := func(name string, args ...string) {
		t.Helper()
		var out, errb bytes.Buffer
		if code := run(t.Context(), args, nil, &out, &errb); code != exitOK {
			t.Fatalf("gown %s: exit %d: %s", strings.Join(args, " "), code, errb.String())
		}
		outputs[name] = out.Bytes()
		outputs[name+" stderr"] = errb.Bytes()
	}
	scan := func(name string, extra ...string) {
		gown(name, append(append([]string{"scan", "--db", db, "--source", testbed.Source.String()}, extra...), targets...)...)
	}
	scan("table")
	scan("jsonl", "--json")
	if !bytes.Contains(outputs["jsonl"], []byte(`"classes"`)) {
		t.Fatal("the JSON Lines carry no data classes: sampling did not run, and the test proves nothing")
	}
	// The planted names were listed, masked: else the test proves nothing
	// of them.
	for _, masked := range []string{"x_[NUM-11]", "ghp_…[REDACTED]", "AKIA…[REDACTED]", "sk_live_…[REDACTED]", "j***@***.test"} {
		if !bytes.Contains(outputs["jsonl"], []byte(masked)) {
			t.Errorf("the JSON Lines lack %q: a planted name was not listed, or not masked so", masked)
		}
	}
	for _, f := range []string{"table", "jsonl", "sarif", "html", "csv", "md"} {
		gown("report "+f, "report", "--db", db, "--format", f)
	}
	gown("scans", "scans", "--db", db)
	gown("scans --json", "scans", "--db", db, "--json")
	gown("diff", "diff", "--db", db, "1", "2")
	gown("diff --json", "diff", "--db", db, "--json", "1", "2")
	// The stored command line still names each target: the URLs are cut,
	// not dropped.
	redis := bed.Get("redis-open").Addr.String()
	if !bytes.Contains(outputs["scans"], []byte("redis://"+redis)) || !bytes.Contains(outputs["report md"], []byte("redis://"+redis)) {
		t.Errorf("gown scans and the report's command line lack redis://%s:\n%s", redis, outputs["scans"])
	}
	var dbBytes []byte
	for _, suffix := range []string{"", "-wal"} {
		b, _ := os.ReadFile(db + suffix)
		dbBytes = append(dbBytes, b...)
	}
	outputs["sqlite file"] = dbBytes

	secrets := append(append(testbed.Secrets(), testbed.NameSecrets()...), urlRedisPassword, urlMongoUser, urlMongoPassword)
	checked := 0
	for name, b := range outputs {
		for _, s := range secrets {
			checked++
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds a planted secret unmasked (%d bytes long, starts %.3q)", name, len(s), s)
			}
		}
	}
	t.Logf("%d outputs × %d planted secrets checked (%d servers hold the corpus, %d hold secrets in names); outputs: %d bytes of JSONL, %d of SQLite",
		len(outputs), len(secrets), planted, len(namesPlanted), len(outputs["jsonl"]), len(dbBytes))
}
