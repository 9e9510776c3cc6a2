package report_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// multitoolVersion is the SARIF Multitool (npm @microsoft/sarif-multitool,
// MIT) whose GitHub rules (rule kind Ghas: what code scanning's upload
// checks) the SARIF report is validated with.
const multitoolVersion = "5.7.0"

// multitool returns the Multitool's Linux binary, installing the npm
// package into the tool cache once (scripts/install-deps.sh does it
// ahead). Without npm it skips locally and fails in CI.
func multitool(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("GOWN_TOOL_CACHE")
	if dir == "" {
		c, err := os.UserCacheDir()
		if err != nil {
			c = os.TempDir()
		}
		dir = filepath.Join(c, "gown", "tools")
	}
	prefix := filepath.Join(dir, "sarif-multitool-"+multitoolVersion)
	bin := filepath.Join(prefix, "node_modules", "@microsoft", "sarif-multitool-linux", "Sarif.Multitool")
	if _, err := os.Stat(bin); err != nil {
		npm, lerr := exec.LookPath("npm")
		if lerr != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("npm is needed in CI to install the SARIF Multitool")
			}
			t.Skip("npm not found: cannot install the SARIF Multitool")
		}
		cmd := exec.CommandContext(t.Context(), npm, "install", "--ignore-scripts", "--no-audit", "--no-fund", "--prefix", prefix,
			"@microsoft/sarif-multitool-linux@"+multitoolVersion)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm install the SARIF Multitool: %v\n%s", err, out)
		}
	}
	// --ignore-scripts leaves the binary without its execute bit.
	if err := os.Chmod(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// mtResult is one finding of the Multitool about a SARIF file.
type mtResult struct {
	RuleID  string `json:"ruleId"`
	Level   string `json:"level"`
	Message struct {
		ID        string   `json:"id"`
		Arguments []string `json:"arguments"`
	} `json:"message"`
}

// validate runs the Multitool's rules of kind on a SARIF file and returns
// what they found.
func validate(t *testing.T, bin, kind, file string) []mtResult {
	t.Helper()
	out := file + ".validation.sarif"
	cmd := exec.CommandContext(t.Context(), bin, "validate", "--rule-kind", kind, "--level", "Error;Warning;Note", "--kind", "Fail", "-o", out, file)
	cmd.Env = append(os.Environ(), "DOTNET_CLI_TELEMETRY_OPTOUT=1")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("Sarif.Multitool validate: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var log struct {
		Runs []struct {
			Results []mtResult `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(b, &log); err != nil || len(log.Runs) != 1 {
		t.Fatalf("validation log: %v", err)
	}
	return log.Runs[0].Results
}

// TestSARIFMultitoolGitHubRules validates the fixture scan's SARIF (an
// app's findings located in its entries, services by URI) with the
// Multitool's GitHub rule set: no error, warning or note. A copy with a
// result stripped of its locations must fail them, so that a validator
// that checks nothing cannot pass.
func TestSARIFMultitoolGitHubRules(t *testing.T) {
	bin := multitool(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "gown.sarif")
	b := render(t, "sarif", fixtureMeta(), fixture())
	if err := os.WriteFile(good, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := validate(t, bin, "Ghas", good); len(got) > 0 {
		t.Errorf("GitHub rules refuse gown's SARIF: %+v", got)
	}
	// The app finding points at its entry inside the app file, at an offset.
	var log struct {
		Runs []struct {
			Results []struct {
				RuleID    string `json:"ruleId"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI   string `json:"uri"`
							Index *int   `json:"index"`
						} `json:"artifactLocation"`
						Region struct {
							ByteOffset *int64 `json:"byteOffset"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
			Artifacts []struct {
				Location    struct{ URI string } `json:"location"`
				ParentIndex *int                 `json:"parentIndex"`
			} `json:"artifacts"`
			AutomationDetails struct{ ID string } `json:"automationDetails"`
		} `json:"runs"`
	}
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
		if pl.ArtifactLocation.Index == nil || pl.Region.ByteOffset == nil {
			t.Fatalf("app finding without artifact index or byte offset: %+v", pl)
		}
		a := run.Artifacts[*pl.ArtifactLocation.Index]
		if a.ParentIndex == nil || run.Artifacts[*a.ParentIndex].Location.URI != "build/shop.apk" || a.Location.URI != "/assets/config.json" {
			t.Errorf("app finding at %+v: want /assets/config.json inside build/shop.apk", a)
		}
		t.Logf("hardcoded-credential → %s inside %s at byte %d; category %s", a.Location.URI,
			run.Artifacts[*a.ParentIndex].Location.URI, *pl.Region.ByteOffset, run.AutomationDetails.ID)
		found = true
	}
	if !found {
		t.Error("no hardcoded-credential result in the fixture's SARIF")
	}

	// The control: a result without locations and one without message
	// text must be refused by the same rules.
	var raw map[string]any
	json.Unmarshal(b, &raw)
	results := raw["runs"].([]any)[0].(map[string]any)["results"].([]any)
	delete(results[0].(map[string]any), "locations")
	results[1].(map[string]any)["message"] = map[string]any{"id": "nothing"}
	bad := filepath.Join(dir, "bad.sarif")
	bb, _ := json.Marshal(raw)
	os.WriteFile(bad, bb, 0o600)
	got := validate(t, bin, "Ghas", bad)
	var ids []string
	for _, r := range got {
		ids = append(ids, r.RuleID+":"+r.Message.ID)
	}
	if !strings.Contains(strings.Join(ids, " "), "Error_MissingLocationsArray") || !strings.Contains(strings.Join(ids, " "), "Error_MissingMessageText") {
		t.Errorf("the GitHub rules let a broken log through: %v", ids)
	}
}
