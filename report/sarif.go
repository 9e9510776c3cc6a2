package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/gownscan/gown"
)

// SARIFSchema is the schema the SARIF report declares: OASIS SARIF 2.1.0 with
// errata 01, the version GitHub code scanning accepts.
const SARIFSchema = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

// FingerprintKey names gown's stable finding id in partialFingerprints.
// Code scanning matches results across uploads by it, so a re-scan updates an
// alert instead of opening a new one. The /v1 suffix is the SARIF convention
// for versioning a fingerprint's algorithm.
const FingerprintKey = "gownFindingId/v1"

// SARIF writes a SARIF 2.1.0 log with one run. It streams: the envelope is
// written by hand around results encoded one at a time, and the run's tool
// (with its rules) comes after the results, because a finding may name a rule
// this gown does not know (results read from a newer gown's file), and JSON
// object members are unordered.
type SARIF struct {
	w       *bufio.Writer
	meta    ScanMeta
	n       int
	extra   []Rule         // rules seen in findings but missing from Rules
	extraAt map[string]int // their ruleIndex
}

// NewSARIF writes to w.
func NewSARIF(w io.Writer) *SARIF {
	return &SARIF{w: bufio.NewWriter(w), extraAt: map[string]int{}}
}

// Begin writes the envelope up to the results array.
func (s *SARIF) Begin(meta ScanMeta) error {
	s.meta = meta
	_, err := fmt.Fprintf(s.w, "{\n  \"$schema\": %q,\n  \"version\": \"2.1.0\",\n  \"runs\": [\n    {\n      \"results\": [", SARIFSchema)
	return err
}

// sarifLevel maps a severity to a SARIF level: critical and high are errors,
// medium a warning, low and info notes.
func sarifLevel(s gown.Severity) string {
	switch {
	case s >= gown.SeverityHigh:
		return "error"
	case s == gown.SeverityMedium:
		return "warning"
	}
	return "note"
}

// securitySeverity is the CVSS-like score GitHub code scanning reads from a
// rule's properties to grade alerts (over 9.0 critical, 7.0 high, 4.0 medium,
// 0.1 low).
func securitySeverity(s gown.Severity) string {
	return [...]string{"0.0", "3.0", "5.5", "8.0", "9.5"}[max(0, min(int(s), 4))]
}

// Add writes one SARIF result per finding.
func (s *SARIF) Add(r *gown.Result, fs []gown.Finding) error {
	for _, f := range fs {
		b, err := json.MarshalIndent(s.result(r, f), "        ", "  ")
		if err != nil {
			return err
		}
		sep := ","
		if s.n == 0 {
			sep = ""
		}
		s.n++
		if _, err := fmt.Fprintf(s.w, "%s\n        %s", sep, b); err != nil {
			return err
		}
	}
	return nil
}

// TargetURI names a network target as a URI for SARIF's artifactLocation:
// tcp://host:port. Code scanning needs a non-empty uri on every result; a
// target has no file, so its address stands in until app files become the
// artifacts.
func TargetURI(t gown.Target) string {
	return "tcp://" + net.JoinHostPort(t.Host, strconv.Itoa(t.Port))
}

func (s *SARIF) result(r *gown.Result, f gown.Finding) map[string]any {
	idx := s.ruleIndex(f)
	addr := net.JoinHostPort(f.Target.Host, strconv.Itoa(f.Target.Port))
	msg := f.Title + " at " + addr + "."
	if r.Reason != "" {
		msg += " " + r.Reason + "."
	}
	props := map[string]any{
		"severity": f.Severity.String(), "store": f.Store, "status": string(r.Status),
		"items": f.Items, "bytes": f.Bytes, "target": f.Target,
	}
	if r.Product != "" {
		props["product"] = r.Product
	}
	if r.Version != "" {
		props["version"] = r.Version
	}
	if r.TLS.Mode != "" {
		props["tls"] = string(r.TLS.Mode)
	}
	if len(r.Evidence) > 0 {
		props["evidence"] = r.Evidence // redacted by the prober's Conn
	}
	if r.Inventory != nil && len(r.Inventory.Databases) > 0 {
		props["databases"] = r.Inventory.Databases
	}
	if len(f.Classes) > 0 {
		msg += " Sensitive data found by sampling: " + strings.Join(f.Classes, ", ") + "."
		props["classes"] = f.Classes
	}
	if e := r.Exposure; e != nil {
		// Counts and field names only: masked examples stay out of a file
		// meant for upload.
		per := make([]map[string]any, 0, len(e.Classes))
		for _, c := range e.Classes {
			per = append(per, map[string]any{"database": c.Database, "class": c.Class, "records": c.Records, "fields": c.Fields})
		}
		props["exposure"] = map[string]any{"sampled": e.Sampled, "bytes": e.Bytes, "truncated": e.Truncated, "classes": per}
	}
	if len(r.Signs) > 0 {
		msg += " Signs: " + signsText(r) + "."
		props["signs"] = r.Signs
	}
	return map[string]any{
		"ruleId":    f.Rule,
		"ruleIndex": idx,
		"level":     sarifLevel(f.Severity),
		"message":   map[string]string{"text": msg},
		"locations": []any{map[string]any{
			"physicalLocation": map[string]any{"artifactLocation": map[string]string{"uri": TargetURI(f.Target)}},
			"logicalLocations": []any{map[string]string{"name": addr, "fullyQualifiedName": f.Store + "://" + addr, "kind": "resource"}},
		}},
		"partialFingerprints": map[string]string{FingerprintKey: f.ID},
		"properties":          props,
	}
}

// ruleIndex finds a finding's rule, adding a stand-in for one Rules lacks.
func (s *SARIF) ruleIndex(f gown.Finding) int {
	if _, i, ok := RuleByID(f.Rule); ok {
		return i
	}
	if i, ok := s.extraAt[f.Rule]; ok {
		return i
	}
	i := len(Rules) + len(s.extra)
	s.extraAt[f.Rule] = i
	s.extra = append(s.extra, Rule{ID: f.Rule, Short: f.Title, Full: f.Title, Severity: f.Severity})
	return i
}

// End closes the results array and writes the tool, the invocation and the
// run's properties.
func (s *SARIF) End() error {
	tail := map[string]any{"tool": map[string]any{"driver": s.driver()}}
	inv := map[string]any{"executionSuccessful": true}
	if !s.meta.Started.IsZero() {
		inv["startTimeUtc"] = s.meta.Started.UTC().Format(time.RFC3339)
	}
	if !s.meta.Finished.IsZero() {
		inv["endTimeUtc"] = s.meta.Finished.UTC().Format(time.RFC3339)
	}
	if s.meta.Command != "" {
		inv["commandLine"] = s.meta.Command
	}
	tail["invocations"] = []any{inv}
	// The scan id goes in properties, not automationDetails.id: code scanning
	// treats automationDetails.id as the analysis category, and a new
	// category per scan would never close fixed alerts.
	if s.meta.ID != "" {
		tail["properties"] = map[string]string{"scan": s.meta.ID}
	}
	b, err := json.MarshalIndent(tail, "      ", "  ")
	if err != nil {
		return err
	}
	// Splice the tail's members after the results array: drop its braces.
	inner := b[1 : len(b)-1]
	if _, err := fmt.Fprintf(s.w, "\n      ],%s}\n  ]\n}\n", inner); err != nil {
		return err
	}
	return s.w.Flush()
}

func (s *SARIF) driver() map[string]any {
	var rules []any
	for _, r := range append(append([]Rule(nil), Rules...), s.extra...) {
		d := map[string]any{
			"id":                   r.ID,
			"shortDescription":     map[string]string{"text": r.Short},
			"fullDescription":      map[string]string{"text": r.Full},
			"defaultConfiguration": map[string]string{"level": sarifLevel(r.Severity)},
			"properties": map[string]any{
				"tags":              []string{"security", "database", "authentication"},
				"security-severity": securitySeverity(r.Severity),
				"precision":         "very-high",
			},
		}
		if r.Name != "" {
			d["name"] = r.Name
		}
		if r.Remediation != "" {
			d["help"] = map[string]string{"text": r.Remediation}
		}
		rules = append(rules, d)
	}
	d := map[string]any{"name": ToolName, "informationUri": ToolURI, "rules": rules}
	if s.meta.Version != "" {
		d["version"] = s.meta.Version
	}
	return d
}
