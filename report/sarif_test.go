package report_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/report"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// sarifSchema compiles the official OASIS SARIF 2.1.0 schema kept in
// testdata (see testdata/README.md), with format assertions on, so that uri
// and date-time fields are checked too.
func sarifSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	path := filepath.Join("testdata", "sarif-schema-2.1.0.json")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft4)
	c.AssertFormat()
	if err := c.AddResource(report.SARIFSchema, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(report.SARIFSchema)
	if err != nil {
		t.Fatalf("compile SARIF schema: %v", err)
	}
	return s
}

func validateSARIF(t *testing.T, s *jsonschema.Schema, b []byte) map[string]any {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("SARIF is not JSON: %v\n%s", err, b)
	}
	if err := s.Validate(doc); err != nil {
		t.Fatalf("SARIF fails the OASIS 2.1.0 schema: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestSARIFSchema validates the fixture report, an empty report and one with
// a rule this gown does not know against the official schema.
func TestSARIFSchema(t *testing.T) {
	s := sarifSchema(t)
	cases := map[string][]fixtureEntry{"fixture": fixture(), "empty": nil}
	unknown := fixture()[:1]
	unknown[0].fs = []gown.Finding{unknown[0].fs[0]}
	unknown[0].fs[0].Rule = "from-a-newer-gown"
	cases["unknown-rule"] = unknown
	for name, entries := range cases {
		t.Run(name, func(t *testing.T) {
			m := validateSARIF(t, s, render(t, "sarif", fixtureMeta(), entries))
			run := m["runs"].([]any)[0].(map[string]any)
			rules := run["tool"].(map[string]any)["driver"].(map[string]any)["rules"].([]any)
			for _, x := range run["results"].([]any) {
				res := x.(map[string]any)
				i := int(res["ruleIndex"].(float64))
				if i >= len(rules) || rules[i].(map[string]any)["id"] != res["ruleId"] {
					t.Errorf("result's ruleIndex %d does not point at rule %v", i, res["ruleId"])
				}
			}
		})
	}
	// Zero meta: no times, no version, no command; still valid.
	validateSARIF(t, s, render(t, "sarif", report.ScanMeta{}, fixture()))

	// The schema is in force: a level SARIF does not define must fail.
	bad := bytes.Replace(render(t, "sarif", fixtureMeta(), fixture()), []byte(`"level": "error"`), []byte(`"level": "fatal"`), 1)
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(bad))
	if err != nil {
		t.Fatal(err)
	}
	if s.Validate(doc) == nil {
		t.Error("schema accepted level \"fatal\"")
	}
}

// TestSARIFCodeScanning checks what GitHub code scanning needs beyond the
// schema: a non-empty artifactLocation.uri on every result, a level from the
// severity, our stable fingerprint, and rules with security-severity.
func TestSARIFCodeScanning(t *testing.T) {
	var m struct {
		Runs []struct {
			Results []struct {
				RuleID    string `json:"ruleId"`
				Level     string `json:"level"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string } `json:"artifactLocation"`
					} `json:"physicalLocation"`
				} `json:"locations"`
				PartialFingerprints map[string]string `json:"partialFingerprints"`
				Properties          map[string]any    `json:"properties"`
			} `json:"results"`
			Tool struct {
				Driver struct {
					Name  string `json:"name"`
					Rules []struct {
						ID         string         `json:"id"`
						Properties map[string]any `json:"properties"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			AutomationDetails any `json:"automationDetails"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(render(t, "sarif", fixtureMeta(), fixture()), &m); err != nil {
		t.Fatal(err)
	}
	run := m.Runs[0]
	wantLevel := map[string]string{"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
	var ids []string
	for _, e := range fixture() {
		for _, f := range e.fs {
			ids = append(ids, f.ID)
		}
	}
	if len(run.Results) != len(ids) {
		t.Fatalf("%d results, want one per finding (%d)", len(run.Results), len(ids))
	}
	for i, r := range run.Results {
		if len(r.Locations) != 1 || r.Locations[0].PhysicalLocation.ArtifactLocation.URI == "" {
			t.Errorf("result %d: code scanning needs one location with an artifactLocation.uri: %+v", i, r.Locations)
		}
		sev, _ := r.Properties["severity"].(string)
		if r.Level != wantLevel[sev] {
			t.Errorf("result %d: level %q for severity %q", i, r.Level, sev)
		}
		if r.PartialFingerprints[report.FingerprintKey] != ids[i] {
			t.Errorf("result %d: fingerprint %v, want finding id %s", i, r.PartialFingerprints, ids[i])
		}
	}
	if run.Tool.Driver.Name != "gown" || len(run.Tool.Driver.Rules) < len(report.Rules) {
		t.Errorf("driver %+v", run.Tool.Driver)
	}
	for _, r := range run.Tool.Driver.Rules {
		if r.Properties["security-severity"] == nil {
			t.Errorf("rule %s has no security-severity", r.ID)
		}
	}
	// automationDetails.id up to its last slash is code scanning's
	// category: one per kind of scan, the run after it.
	if ad, _ := run.AutomationDetails.(map[string]any); ad["id"] != "gown/scan/42" {
		t.Errorf("automationDetails %v, want id gown/scan/42 (category gown/scan/)", run.AutomationDetails)
	}
}
