package report

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestDecodeLineApp: an app's own object (gown app --json) is an app, a
// result line a result, findings alone findings, anything else refused.
func TestDecodeLineApp(t *testing.T) {
	app := `{"file":"x.apk","platform":"android","id":"com.x","version":"1.0","endpoints":[{"kind":"url","value":"http://a","first_party":true,"confidence":1,"sources":[]}]}`
	l, err := DecodeLine([]byte(app))
	if err != nil || l.App == nil || l.Result != nil || l.App.ID != "com.x" || len(l.App.Endpoints) != 1 {
		t.Errorf("app line: %+v, %v", l, err)
	}
	l, err = DecodeLine([]byte(`{"target":{"host":"h","ip":"127.0.0.1","port":6379},"store":"redis","status":"open","version":"7.0"}`))
	if err != nil || l.App != nil || l.Result == nil || l.Result.Version != "7.0" {
		t.Errorf("result line: %+v, %v", l, err)
	}
	for _, bad := range []string{`{}`, `{"version":"1"`, `[]`, `{"file":3}`} {
		if _, err := DecodeLine([]byte(bad)); err == nil {
			t.Errorf("%s: decoded", bad)
		}
	}
}

// FuzzDecodeLine: any line decodes or is refused, and what decodes is one
// thing only: an app, or a result and/or findings.
func FuzzDecodeLine(f *testing.F) {
	f.Add([]byte(`{"file":"x.apk","platform":"android","endpoints":[]}`))
	f.Add([]byte(`{"target":{"host":"h","ip":"127.0.0.1","port":1},"status":"open","findings":[{"id":"1","severity":"high","rule":"open-store"}]}`))
	f.Add([]byte(`{"findings":[{"id":"1","severity":"medium","rule":"hardcoded-credential","target":{"host":"com.x","port":0,"origin":"app"}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := DecodeLine(b)
		if err != nil {
			return
		}
		if l.App != nil && (l.Result != nil || len(l.Findings) > 0) {
			t.Fatalf("both an app and a result: %+v", l)
		}
		if l.App == nil && l.Result == nil && len(l.Findings) == 0 {
			t.Fatalf("nothing decoded from %q", b)
		}
		if l.App != nil {
			if _, err := json.Marshal(l.App); err != nil {
				t.Fatal(err)
			}
			return
		}
		var buf bytes.Buffer
		if err := NewJSONL(&buf).ReportFindings(l.Result, l.Findings); err != nil {
			t.Fatal(err)
		}
	})
}
