package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestAppFindingsGateStoreAndReport is an app developer's CI step: an app
// that allows clear text and ships a store password in a connection string
// fails `gown app --extract-only --fail-on medium` with exit 3; the scan is
// stored; every report format shows the two findings, SARIF locating them
// inside the app (the entry as a nested artifact of the APK, the offset as
// the region); and a later build without them diffs as fixed.
func TestAppFindingsGateStoreAndReport(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "gown.db")
	apk := writeAPK(t, dir, "shop.apk", "http://api.shop-gown.net/v1", "mongodb://root:s3cret-pw@db.shop-gown.net/app")
	var out, errb bytes.Buffer
	code := run(t.Context(), []string{"app", apk, "--extract-only", "--fail-on", "medium", "--db", db}, nil, &out, &errb)
	if code != exitFindings {
		t.Fatalf("exit %d, want %d; stdout %s; stderr %s", code, exitFindings, out.String(), errb.String())
	}
	t.Logf("gown app --extract-only --fail-on medium:\n%s%s", out.String(), errb.String())
	for _, w := range []string{"com.gown.shop holds a store password in 1 connection string (for db.shop-gown.net)",
		"com.gown.shop allows clear-text traffic (default for targetSdk 26", "at " + apk + "!classes.dex @0x",
		"2 findings at or above the --fail-on level"} {
		if !strings.Contains(out.String()+errb.String(), w) {
			t.Errorf("output lacks %q", w)
		}
	}
	if strings.Contains(out.String()+errb.String(), "s3cret-pw") {
		t.Error("the password was printed")
	}

	sarif := runOK(t, "report", "--db", db, "--format", "sarif")
	var log struct {
		Runs []struct {
			Results []struct {
				RuleID    string `json:"ruleId"`
				Locations []struct {
					Physical struct {
						Artifact struct {
							URI   string `json:"uri"`
							Index int    `json:"index"`
						} `json:"artifactLocation"`
						Region struct {
							ByteOffset int64 `json:"byteOffset"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
			Artifacts []struct {
				Location    struct{ URI string } `json:"location"`
				ParentIndex *int                 `json:"parentIndex"`
			} `json:"artifacts"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(sarif), &log); err != nil {
		t.Fatal(err)
	}
	lr := log.Runs[0]
	rules := map[string]bool{}
	for _, r := range lr.Results {
		rules[r.RuleID] = true
		if len(r.Locations) == 0 {
			t.Fatalf("%s has no location", r.RuleID)
		}
		l := r.Locations[0].Physical
		a := lr.Artifacts[l.Artifact.Index]
		if l.Artifact.URI != "/classes.dex" || a.Location.URI != "/classes.dex" || a.ParentIndex == nil ||
			lr.Artifacts[*a.ParentIndex].Location.URI != apk || l.Region.ByteOffset <= 0 {
			t.Errorf("%s located at %+v in %+v: want /classes.dex inside %s at a byte offset", r.RuleID, l, lr.Artifacts, apk)
		}
	}
	for _, r := range lr.Results {
		l := r.Locations[0].Physical
		t.Logf("SARIF %s: artifactLocation %s (artifact %d, inside %s), region.byteOffset %d", r.RuleID,
			l.Artifact.URI, l.Artifact.Index, lr.Artifacts[*lr.Artifacts[l.Artifact.Index].ParentIndex].Location.URI, l.Region.ByteOffset)
	}
	if !rules["cleartext-transport"] || !rules["hardcoded-credential"] {
		t.Errorf("SARIF rules %v", rules)
	}
	for _, format := range []string{"table", "jsonl", "html", "csv", "md"} {
		rep := runOK(t, "report", "--db", db, "--format", format)
		if !strings.Contains(rep, "com.gown.shop") || !strings.Contains(rep, "classes.dex") {
			t.Errorf("%s report lacks the app's findings or their place:\n%s", format, rep)
		}
	}

	// The next build serves everything over HTTPS: clear text is fixed.
	apk = writeAPK(t, dir, "shop.apk", "https://api.shop-gown.net/v1", "mongodb://root:s3cret-pw@db.shop-gown.net/app")
	out.Reset()
	if code := run(t.Context(), []string{"app", apk, "--extract-only", "--db", db, "-q"}, nil, &out, &errb); code != exitOK {
		t.Fatalf("second build: exit %d", code)
	}
	diff := runOK(t, "diff", "1", "2", "--db", db)
	t.Logf("gown diff 1 2:\n%s", diff)
	for _, w := range []string{"fixed       medium    com.gown.shop", "allows clear-text traffic", "still-open  medium    com.gown.shop"} {
		if !strings.Contains(diff, w) {
			t.Errorf("diff lacks %q", w)
		}
	}
}
