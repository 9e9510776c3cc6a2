package assess

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/testbed"
)

// corpusCase is one labelled record: what a sampler would hand over and
// the classes a correct classifier finds in it.
type corpusCase struct {
	Case   string          `json:"case"`
	DB     string          `json:"db"`
	Coll   string          `json:"coll"`
	Key    string          `json:"key"`
	Doc    json.RawMessage `json:"doc"`   // a document, flattened as samplers do
	Value  *string         `json:"value"` // or one string value (Redis, memcached)
	Want   []string        `json:"want"`
	sample gown.Sample
}

// loadCorpus reads testdata/NAME: JSON lines of corpusCase.
func loadCorpus(t testing.TB, name string) []corpusCase {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []corpusCase
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		var c corpusCase
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("%s:%d: %v", name, n, err)
		}
		if c.Case == "" {
			c.Case = name + ":" + strconv.Itoa(n)
		}
		c.sample = gown.Sample{Database: c.DB, Collection: c.Coll, Key: c.Key}
		switch {
		case c.Value != nil:
			c.sample.Fields = []gown.Field{{Path: "", Value: *c.Value}}
		case c.Doc != nil:
			var doc any
			if err := json.Unmarshal(c.Doc, &doc); err != nil {
				t.Fatalf("%s:%d: %v", name, n, err)
			}
			flattenInto(&c.sample, "", doc)
		}
		out = append(out, c)
	}
	return out
}

// flattenInto turns a document into field paths the way the samplers do:
// "a.b", arrays by index.
func flattenInto(s *gown.Sample, path string, x any) {
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	switch v := x.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			flattenInto(s, join(k), v[k])
		}
	case []any:
		for i, e := range v {
			flattenInto(s, join(strconv.Itoa(i)), e)
		}
	case string:
		s.Fields = append(s.Fields, gown.Field{Path: path, Value: v})
	default:
		b, _ := json.Marshal(v)
		s.Fields = append(s.Fields, gown.Field{Path: path, Value: string(b)})
	}
}

// plantedSamples are the test bed's planted people as a SQL or hash sampler
// hands them over: one record per person, one field per column.
func plantedSamples() []gown.Sample {
	var out []gown.Sample
	for _, p := range testbed.People {
		s := gown.Sample{Database: "app", Collection: "users", Key: p.ID}
		for _, f := range p.Fields() {
			s.Fields = append(s.Fields, gown.Field{Path: f[0], Value: f[1]})
		}
		out = append(out, s)
	}
	return out
}

// plantedDocs are the same people as a document store holds them: nested,
// camelCase, the coordinates as GeoJSON.
func plantedDocs() []gown.Sample {
	var out []gown.Sample
	for _, p := range testbed.People {
		doc := map[string]any{
			"_id": p.ID, "profile": map[string]any{"fullName": p.Name, "email": p.Email, "phone": p.Phone,
				"address": map[string]any{"line1": p.Address}},
			"auth":         map[string]any{"passwordHash": p.Password, "accessToken": p.Token, "lastIp": p.IP},
			"billing":      map[string]any{"cardNumber": p.Card, "iban": p.IBAN},
			"kyc":          map[string]any{"ssn": p.SSN},
			"device":       map[string]any{"imei": p.IMEI, "idfa": p.IDFA},
			"lastLocation": map[string]any{"type": "Point", "coordinates": []any{p.Lon, p.Lat}},
		}
		s := gown.Sample{Database: "app", Collection: "users", Key: p.ID}
		flattenInto(&s, "", doc)
		out = append(out, s)
	}
	return out
}

// classesOf runs the classifier on one record and returns its classes.
func classesOf(s gown.Sample) map[string]bool {
	got := map[string]bool{}
	for _, h := range classifyRecord(s) {
		got[h.class] = true
	}
	return got
}
