package report

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"

	"github.com/gownscan/gown"
)

// JSONL writes one JSON object per result, one per line. The field names are
// documented in docs/output.md and are stable.
type JSONL struct {
	w   *bufio.Writer
	enc *json.Encoder
}

var _ gown.Reporter = (*JSONL)(nil)

// NewJSONL writes to w.
func NewJSONL(w io.Writer) *JSONL {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	return &JSONL{w: bw, enc: enc}
}

// Line is the object written per result: the result itself plus the findings
// drawn from it. Standalone findings (an app's own code, one address
// answering as many stores) are a line of findings alone, with no result
// fields: {"findings":[...]}.
type Line struct {
	*gown.Result
	Findings []gown.Finding `json:"findings,omitempty"`
	// App is set, alone, by DecodeLine for an app's own object as gown app
	// --json writes it (gown.App: "file", "platform", "endpoints"...),
	// which is neither a result nor findings. It is never written here.
	App *gown.App `json:"-"`
}

// AppWriter is the optional ability of a Writer to show the apps a scan
// read (gown app --json lines read back by gown report --from). Writers
// without it show apps through their findings alone.
type AppWriter interface {
	AddApp(a *gown.App) error
}

// errNotLine says a JSON object is neither a result nor standalone findings.
var errNotLine = errors.New("neither a result nor findings")

// DecodeLine reads one line written by JSONL. A line with findings but no
// result fields gives a nil Result: standalone findings.
func DecodeLine(b []byte) (Line, error) {
	var l Line
	// An app's object has a "file" and no "target": it is read as an app,
	// not as a result that its "version" would otherwise half fill.
	var kind struct {
		Target json.RawMessage `json:"target"`
		File   *string         `json:"file"`
	}
	if err := json.Unmarshal(b, &kind); err != nil {
		return l, err
	}
	if kind.Target == nil && kind.File != nil {
		var a gown.App
		if err := json.Unmarshal(b, &a); err != nil {
			return l, err
		}
		l.App = &a
		return l, nil
	}
	if err := json.Unmarshal(b, &l); err != nil {
		return l, err
	}
	if l.Result == nil && len(l.Findings) == 0 {
		return l, errNotLine
	}
	return l, nil
}

// Report writes one line.
func (j *JSONL) Report(r *gown.Result) error {
	return j.ReportFindings(r, nil)
}

// ReportFindings writes one line with the result's findings.
func (j *JSONL) ReportFindings(r *gown.Result, fs []gown.Finding) error {
	if err := j.enc.Encode(Line{Result: r, Findings: fs}); err != nil {
		return err
	}
	// Flush per line: a consumer piping the stream sees each result as it
	// lands, and an interrupted scan leaves whole lines behind.
	return j.w.Flush()
}

// AddApp writes an app's own object back as gown app --json wrote it, so
// that gown report --from - --format jsonl keeps every line it read.
func (j *JSONL) AddApp(a *gown.App) error {
	if err := j.enc.Encode(a); err != nil {
		return err
	}
	return j.w.Flush()
}

var _ AppWriter = (*JSONL)(nil)

// Close flushes the writer.
func (j *JSONL) Close() error { return j.w.Flush() }

// Begin starts a report. JSONL carries no header, so that a report and the
// live --json stream are the same lines.
func (j *JSONL) Begin(ScanMeta) error { return nil }

// Add writes one line, as ReportFindings does.
func (j *JSONL) Add(r *gown.Result, fs []gown.Finding) error { return j.ReportFindings(r, fs) }

// End flushes, as Close does.
func (j *JSONL) End() error { return j.Close() }
