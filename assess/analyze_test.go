package assess

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/testbed"
)

// TestAnalyze: an open store's samples become an exposure (records, bytes,
// classes per database) and signs; the ransom note's contact address is
// not counted as data; a closed store gets no exposure.
func TestAnalyze(t *testing.T) {
	r := open("mongodb", db("app", 3), db(testbed.RansomName, 1))
	samples := append(plantedSamples(), rec(testbed.RansomName, "README", "1", "content", testbed.RansomMessage))
	Analyze(r, samples, true)
	e := r.Exposure
	if e == nil || e.Sampled != 4 || !e.Truncated || e.Bytes <= 0 {
		t.Fatalf("exposure %+v", e)
	}
	want := int64(0)
	for _, s := range samples {
		want += int64(s.Size())
	}
	if e.Bytes != want {
		t.Errorf("exposure bytes %d, want %d", e.Bytes, want)
	}
	for _, c := range e.Classes {
		if c.Database != "app" {
			t.Errorf("class %s counted in %s: the note is not data", c.Class, c.Database)
		}
	}
	if len(ExposedClasses(e)) != len(testbed.PIIClasses) {
		t.Errorf("classes %v", ExposedClasses(e))
	}
	if len(r.Signs) != 1 || r.Signs[0].Kind != SignRansomNote {
		t.Errorf("signs %+v", r.Signs)
	}

	closed := &gown.Result{Store: "redis", Status: gown.StatusAuthRequired}
	Analyze(closed, nil, false)
	if closed.Exposure != nil || closed.Signs != nil {
		t.Errorf("auth-required result got %+v %+v", closed.Exposure, closed.Signs)
	}
	Analyze(nil, samples, false) // must not panic
}

// TestRedactedEndToEnd: a result analysed from the planted corpus, its
// findings and signs, serialised as gown writes them, hold no planted
// secret and not the ransom note's contact address.
func TestRedactedEndToEnd(t *testing.T) {
	r := open("redis", db("db0", 6))
	var samples []gown.Sample
	for _, s := range append(plantedSamples(), plantedDocs()...) {
		// Also as Redis keyed JSON strings and with secrets in key names.
		b, _ := json.Marshal(s.Fields)
		samples = append(samples, s, gown.Sample{Database: "db0", Key: "user:" + s.Fields[2].Value, Fields: []gown.Field{{Value: string(b)}}})
	}
	samples = append(samples, rec("db0", "", "READ_ME", "", testbed.RansomMessage), rec("db0", "", "backup1", "", cronValue))
	Analyze(r, samples, false)
	out, err := json.Marshal(struct {
		R  *gown.Result
		Fs []gown.Finding
	}{r, Findings(r)})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range append(testbed.Secrets(), testbed.RansomContact) {
		if strings.Contains(string(out), s) {
			t.Errorf("output holds %q", s)
		}
	}
	if !strings.Contains(string(out), "redis-cron") || !strings.Contains(string(out), "payment-card") {
		t.Errorf("output lacks the findings it should carry: %s", out)
	}
}

// FuzzClassify: any field name and value, classification never panics and
// never hands back a value of eight characters or more whole.
func FuzzClassify(f *testing.F) {
	for _, p := range testbed.People {
		for _, kv := range p.Fields() {
			f.Add(kv[0], kv[1], "users")
		}
	}
	f.Add("", `{"a":[{"b":{"lat":"1.234","lon":"5.678"}}]}`, "user:1")
	f.Add("loc.coordinates.0", "13.4", "")
	f.Fuzz(func(t *testing.T, path, value, key string) {
		s := gown.Sample{Database: "d", Collection: "c", Key: key, Fields: []gown.Field{{Path: path, Value: value}}}
		out, err := json.Marshal(Classify([]gown.Sample{s}))
		if err != nil {
			t.Fatal(err)
		}
		v := strings.TrimSpace(value)
		if len(v) >= 8 && !strings.ContainsAny(v, `"\<>&`) && strings.Contains(string(out), v) && !strings.Contains(path+key, v) {
			t.Errorf("value %q of %q came out whole: %s", v, path, out)
		}
		Signs(&gown.Result{Store: "redis", Status: gown.StatusOpen}, []gown.Sample{s})
	})
}
