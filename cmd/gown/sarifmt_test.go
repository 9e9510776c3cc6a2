package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// multitoolBin finds the SARIF Multitool as report/multitool_test.go
// installs it (npm @microsoft/sarif-multitool-linux 5.7.0 in the tool
// cache), installing it when missing. Without npm it skips locally and
// fails in CI.
func multitoolBin(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("GOWN_TOOL_CACHE")
	if dir == "" {
		c, err := os.UserCacheDir()
		if err != nil {
			c = os.TempDir()
		}
		dir = filepath.Join(c, "gown", "tools")
	}
	prefix := filepath.Join(dir, "sarif-multitool-5.7.0")
	bin := filepath.Join(prefix, "node_modules", "@microsoft", "sarif-multitool-linux", "Sarif.Multitool")
	if _, err := os.Stat(bin); err != nil {
		npm, lerr := exec.LookPath("npm")
		if lerr != nil {
			if os.Getenv("CI") == "true" {
				t.Fatal("npm is needed in CI to install the SARIF Multitool")
			}
			t.Skip("npm not found: cannot install the SARIF Multitool")
		}
		cmd := exec.CommandContext(t.Context(), npm, "install", "--ignore-scripts", "--no-audit", "--no-fund", "--prefix", prefix,
			"@microsoft/sarif-multitool-linux@5.7.0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm install the SARIF Multitool: %v\n%s", err, out)
		}
	}
	if err := os.Chmod(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// TestAppSARIFMultitool: gown app grades an APK holding a connection
// string with a password and a clear-text URL, gown report writes the
// stored scan as SARIF, and the Multitool's GitHub rules accept it; the
// credential's result points at classes.dex inside the APK, at the byte
// offset of the string.
func TestAppSARIFMultitool(t *testing.T) {
	isolateConfig(t)
	bin := multitoolBin(t)
	dir := t.TempDir()
	apk := writeAPK(t, dir, "shop.apk", "http://api.shop-gown.net/v1", "redis://admin:hunter2secret@cache.shop-gown.net:6379")
	db := filepath.Join(dir, "s.db")
	if code, _, errOut := gownRun(t, "app", apk, "--extract-only", "--db", db, "-q"); code != exitOK {
		t.Fatalf("gown app: exit %d: %s", code, errOut)
	}
	sarif := filepath.Join(dir, "app.sarif")
	if code, _, errOut := gownRun(t, "report", "--db", db, "--format", "sarif", "-o", sarif); code != exitOK {
		t.Fatalf("gown report: exit %d: %s", code, errOut)
	}
	out := sarif + ".validation.sarif"
	cmd := exec.CommandContext(t.Context(), bin, "validate", "--rule-kind", "Ghas", "--level", "Error;Warning;Note", "--kind", "Fail", "-o", out, sarif)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("Sarif.Multitool validate: %v\n%s", err, b)
	}
	var v struct {
		Runs []struct {
			Results []struct {
				RuleID string `json:"ruleId"`
			} `json:"results"`
		} `json:"runs"`
	}
	b, _ := os.ReadFile(out)
	if err := json.Unmarshal(b, &v); err != nil || len(v.Runs) != 1 {
		t.Fatalf("validation log: %v", err)
	}
	if len(v.Runs[0].Results) > 0 {
		t.Errorf("GitHub rules refuse gown app's SARIF: %+v", v.Runs[0].Results)
	}
	var log struct {
		Runs []struct {
			Results []struct {
				RuleID    string `json:"ruleId"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
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
			AutomationDetails struct{ ID string } `json:"automationDetails"`
			Tool              struct {
				Driver struct {
					Version string `json:"version"`
				} `json:"driver"`
			} `json:"tool"`
		} `json:"runs"`
	}
	b, _ = os.ReadFile(sarif)
	if err := json.Unmarshal(b, &log); err != nil {
		t.Fatal(err)
	}
	run := log.Runs[0]
	found := false
	for _, r := range run.Results {
		if r.RuleID != "hardcoded-credential" {
			continue
		}
		pl := r.Locations[0].PhysicalLocation
		a := run.Artifacts[pl.ArtifactLocation.Index]
		if pl.ArtifactLocation.URI != "/classes.dex" || a.ParentIndex == nil || run.Artifacts[*a.ParentIndex].Location.URI != apk || pl.Region.ByteOffset <= 0 {
			t.Errorf("hardcoded-credential at %+v (artifact %+v): want /classes.dex inside %s at a byte offset", pl, a, apk)
		}
		t.Logf("hardcoded-credential → %s inside %s at byte %d; category %s; tool version %s", pl.ArtifactLocation.URI,
			run.Artifacts[*a.ParentIndex].Location.URI, pl.Region.ByteOffset, run.AutomationDetails.ID, run.Tool.Driver.Version)
		found = true
	}
	if !found {
		t.Error("no hardcoded-credential result")
	}
	if got := run.AutomationDetails.ID; len(got) < 9 || got[:9] != "gown/app/" {
		t.Errorf("automationDetails.id %q, want gown/app/...", got)
	}
}
