package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/lazyre"
	"github.com/gownscan/gown/redact"
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
	// artifacts are the app files and the entries inside them that app
	// findings point at, written as run.artifacts after the results.
	artifacts  []map[string]any
	artifactAt map[string]int
	// sawApp is set by a finding about an app's own code: with no command
	// line to tell, it makes the run an app scan's (automationDetails).
	sawApp bool
}

// Bounds of the evidence a SARIF result carries: a summary of the first
// exchanges, not the transcript, in a file meant for upload (the JSON
// Lines output and the store keep every step).
const (
	sarifEvidenceSteps = 3
	sarifEvidenceBytes = 200
)

// maxArtifacts bounds the artifacts a log lists (apps and entries): past
// it a location keeps its uri without an index.
const maxArtifacts = 100000

// NewSARIF writes to w.
func NewSARIF(w io.Writer) *SARIF {
	return &SARIF{w: bufio.NewWriter(w), extraAt: map[string]int{}, artifactAt: map[string]int{}}
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

// Add writes one SARIF result per finding. Standalone findings (a nil
// result) are located in the app they are about.
func (s *SARIF) Add(r *gown.Result, fs []gown.Finding) error {
	for _, f := range fs {
		var res map[string]any
		if r == nil {
			res = s.standalone(f)
		} else {
			res = s.result(r, f)
		}
		b, err := json.MarshalIndent(res, "        ", "  ")
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
	if t.Port == 0 { // an address as a whole
		if strings.Contains(t.Host, ":") {
			return "tcp://[" + t.Host + "]"
		}
		return "tcp://" + t.Host
	}
	return "tcp://" + net.JoinHostPort(t.Host, strconv.Itoa(t.Port)) + t.Path
}

func (s *SARIF) result(r *gown.Result, f gown.Finding) map[string]any {
	idx := s.ruleIndex(f)
	addr := net.JoinHostPort(f.Target.Host, strconv.Itoa(f.Target.Port)) + f.Target.Path
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
		props["evidence"] = evidenceSummary(r.Evidence)
		props["evidenceSteps"] = len(r.Evidence)
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

// standalone is the SARIF result of a finding about an app's own code (or
// about an address as a whole): each of its places in the app is a
// location in the entry it was read from, a nested artifact of the app
// file, with the entry's byte offset as the region.
func (s *SARIF) standalone(f gown.Finding) map[string]any {
	if f.Target.Origin == "app" {
		s.sawApp = true
	}
	msg := f.Title + "."
	props := map[string]any{"severity": f.Severity.String(), "target": f.Target}
	var locs []any
	for _, l := range f.Locations {
		al := map[string]any{"uri": artifactURI(l.Entry, true)}
		if l.Entry == "" {
			// A place in the file itself (a capture's packet record):
			// the region's offset is in the container.
			parts := strings.Split(l.Container, "!")
			al["uri"] = artifactURI(parts[len(parts)-1], len(parts) > 1)
		}
		if i, ok := s.artifact(l); ok {
			al["index"] = i
		}
		pl := map[string]any{"artifactLocation": al, "region": map[string]any{"byteOffset": l.Offset}}
		loc := map[string]any{"physicalLocation": pl, "message": map[string]string{"text": Location(l)}}
		if l.Section != "" {
			loc["logicalLocations"] = []any{map[string]string{"name": l.Section, "kind": "section"}}
		}
		locs = append(locs, loc)
	}
	if len(f.Locations) > 0 {
		msg += " Found at " + locationsText(f.Locations, 3) + "."
		props["locations"] = f.Locations
	} else {
		name := subjectName(f.Target)
		locs = append(locs, map[string]any{
			"physicalLocation": map[string]any{"artifactLocation": map[string]string{"uri": TargetURI(f.Target)}},
			"logicalLocations": []any{map[string]string{"name": name, "kind": "resource"}},
		})
	}
	return map[string]any{
		"ruleId":              f.Rule,
		"ruleIndex":           s.ruleIndex(f),
		"level":               sarifLevel(f.Severity),
		"message":             map[string]string{"text": msg},
		"locations":           locs,
		"partialFingerprints": map[string]string{FingerprintKey: f.ID},
		"properties":          props,
	}
}

// artifact returns the index of an app location's entry in run.artifacts,
// listing it (and the app file, and each archive the entry sits in, an
// XAPK's split "app.xapk!config.apk" among them) on first sight: a nested
// artifact names its parent by parentIndex and its path inside the parent
// as a relative reference from the parent's root, as SARIF 2.1.0 §3.24.3
// says.
func (s *SARIF) artifact(l gown.Source) (int, bool) {
	parent, chain := -1, ""
	parts := strings.Split(l.Container, "!")
	if l.Entry != "" {
		parts = append(parts, l.Entry)
	}
	for i, p := range parts {
		if chain != "" {
			chain += "!"
		}
		chain += p
		idx, ok := s.artifactAt[chain]
		if !ok {
			if len(s.artifacts) >= maxArtifacts {
				return 0, false
			}
			a := map[string]any{"location": map[string]string{"uri": artifactURI(p, i > 0)}}
			if i == 0 {
				a["roles"] = []string{"analysisTarget"}
			} else {
				a["parentIndex"] = parent
			}
			idx = len(s.artifacts)
			s.artifacts = append(s.artifacts, a)
			s.artifactAt[chain] = idx
		}
		parent = idx
	}
	return parent, parent >= 0
}

// artifactURI writes a file path as a URI reference: escaped, and for a
// path inside an archive rooted at the archive ("/classes.dex").
func artifactURI(p string, nested bool) string {
	if nested && !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return (&url.URL{Path: p}).EscapedPath()
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
	if len(s.artifacts) > 0 {
		tail["artifacts"] = s.artifacts
	}
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
	// Code scanning reads automationDetails.id up to its last "/" as the
	// analysis category: one per kind of scan (gown/scan/, gown/app/,
	// gown/fleet/), so that a re-scan closes the alerts it no longer finds
	// and an app scan's upload does not close a service scan's. The part
	// after the slash names this run.
	tail["automationDetails"] = map[string]string{"id": "gown/" + s.kind() + "/" + s.runID()}
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

// kind is the kind of scan the log is about: the command after "gown" in
// its command line, else "app" when it holds app findings, else "scan".
func (s *SARIF) kind() string {
	if f := strings.Fields(s.meta.Command); len(f) >= 2 && f[0] == "gown" && isWordLower(f[1]) {
		return f[1]
	}
	if s.sawApp {
		return "app"
	}
	return "scan"
}

// runID names the run after the category: the scan's id, else its start.
func (s *SARIF) runID() string {
	switch {
	case s.meta.ID != "" && isWordLower(strings.ToLower(s.meta.ID)):
		return s.meta.ID
	case !s.meta.Started.IsZero():
		return s.meta.Started.UTC().Format("20060102T150405Z")
	}
	return "run"
}

// isWordLower reports whether s is lowercase letters and digits only, a
// safe path segment.
func isWordLower(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// evidenceSummary keeps the first exchanges of a result's evidence, each
// direction cut to a few hundred bytes. The engine's text pass has masked
// and escaped evidence already; results read from a file or an older store
// get redact.Escape, as in every other format.
func evidenceSummary(ev []gown.Evidence) []gown.Evidence {
	out := make([]gown.Evidence, 0, min(len(ev), sarifEvidenceSteps))
	for _, e := range ev[:min(len(ev), sarifEvidenceSteps)] {
		out = append(out, gown.Evidence{Step: cutText(redact.Escape(e.Step), 64), Sent: cutText(redact.Escape(e.Sent), sarifEvidenceBytes),
			Received: cutText(redact.Escape(e.Received), sarifEvidenceBytes)})
	}
	return out
}

// cutText cuts s to at most n bytes on a character boundary, and before
// an escape (\x1b, \u202e) the cut would split, ending with "…".
func cutText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	if j := strings.LastIndexByte(s[:i], '\\'); j >= 0 && i-j < 6 {
		i = j
	}
	return s[:i] + "…"
}

// helpURI is where a rule is documented.
func helpURI(Rule) string { return ToolURI + "/blob/main/docs/severity.md#rules" }

// cweURI is MITRE's page of a CWE id ("CWE-306").
func cweURI(cwe string) string {
	return "https://cwe.mitre.org/data/definitions/" + strings.TrimPrefix(cwe, "CWE-") + ".html"
}

// helpMarkdown is a rule's help as code scanning shows it.
func helpMarkdown(r Rule) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**%s** %s\n\n%s\n", r.ID, r.Short, r.Full)
	if r.Remediation != "" {
		fmt.Fprintf(&b, "\n**Remediation.** %s\n", r.Remediation)
	}
	if r.CWE != "" {
		fmt.Fprintf(&b, "\n**Weakness.** [%s](%s)\n", r.CWE, cweURI(r.CWE))
	}
	fmt.Fprintf(&b, "\nSeverity: %s. gown reads stores read-only; [how gown grades findings](%s).\n", r.Severity, helpURI(r))
	return b.String()
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
				"tags":              ruleTags(r),
				"security-severity": securitySeverity(r.Severity),
				"precision":         "very-high",
			},
			"helpUri": helpURI(r),
		}
		if r.Name != "" {
			d["name"] = r.Name
		}
		help := map[string]string{"text": cmpOr(r.Remediation, r.Full), "markdown": helpMarkdown(r)}
		d["help"] = help
		rules = append(rules, d)
	}
	d := map[string]any{"name": ToolName, "informationUri": ToolURI, "rules": rules}
	if s.meta.Version != "" {
		d["version"] = s.meta.Version
		if v := strings.TrimPrefix(s.meta.Version, "v"); semver.MatchString(v) {
			d["semanticVersion"] = v
		}
	}
	return d
}

// semver matches a semantic version (2.0.0), as driver.semanticVersion
// must be.
var semver = lazyre.New(`^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)

// ruleTags are a rule's tags: code scanning shows "security" ones under
// security, and reads a CWE from external/cwe/cwe-NNN.
func ruleTags(r Rule) []string {
	tags := []string{"security", "database", "authentication"}
	if r.CWE != "" {
		tags = append(tags, "external/cwe/"+strings.ToLower(r.CWE))
	}
	return tags
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
