package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gownscan/gown/internal/testbed"
)

// TestNoPlantedSecretInAnyOutput scans the real test-bed servers holding
// the planted corpus (personal data, card numbers, tokens, password hashes)
// with sampling on, into a SQLite results store, and then writes every
// report format from that store. No planted secret may appear whole in the
// table, the JSON Lines, any report, or the bytes of the database file.
func TestNoPlantedSecretInAnyOutput(t *testing.T) {
	bed := testbed.Require(t)
	var targets []string
	planted := 0
	for _, s := range bed.Servers {
		if len(s.Want.Classes) > 0 {
			planted++
		}
		if s.Kind == "firebase" {
			continue // reached by URL, not address; covered by its own tests
		}
		targets = append(targets, s.Kind+"://"+s.Addr.String()) // the scheme is the hint: no detection needed
	}
	if planted == 0 {
		t.Fatal("no server holds the corpus: the test proves nothing")
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "gown.db")
	outputs := map[string][]byte{}
	scan := func(name string, extra ...string) {
		var out, errb bytes.Buffer
		args := append(append([]string{"scan", "--db", db, "--source", testbed.Source.String()}, extra...), targets...)
		code := run(t.Context(), args, nil, &out, &errb)
		if code != exitOK {
			t.Fatalf("gown %s: exit %d: %s", strings.Join(args, " "), code, errb.String())
		}
		outputs[name] = out.Bytes()
		outputs[name+" stderr"] = errb.Bytes()
	}
	scan("table")
	scan("jsonl", "--json")
	if !bytes.Contains(outputs["jsonl"], []byte(`"classes"`)) {
		t.Fatal("the JSON Lines carry no data classes: sampling did not run, and the test proves nothing")
	}
	for _, f := range []string{"table", "jsonl", "sarif", "html", "csv", "md"} {
		var out, errb bytes.Buffer
		if code := run(t.Context(), []string{"report", "--db", db, "--format", f}, nil, &out, &errb); code != exitOK {
			t.Fatalf("report %s: exit %d: %s", f, code, errb.String())
		}
		outputs["report "+f] = out.Bytes()
	}
	var dbBytes []byte
	for _, suffix := range []string{"", "-wal"} {
		b, _ := os.ReadFile(db + suffix)
		dbBytes = append(dbBytes, b...)
	}
	outputs["sqlite file"] = dbBytes

	secrets := testbed.Secrets()
	checked := 0
	for name, b := range outputs {
		for _, s := range secrets {
			checked++
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds a planted secret unmasked (%d bytes long, starts %.3q)", name, len(s), s)
			}
		}
	}
	t.Logf("%d outputs × %d planted secrets checked (%d servers hold the corpus); outputs: %d bytes of JSONL, %d of SQLite",
		len(outputs), len(secrets), planted, len(outputs["jsonl"]), len(dbBytes))
}
