package flatten

import (
	"strings"
	"testing"

	"github.com/gownscan/gown"
)

func TestJSON(t *testing.T) {
	got, err := JSON("", []byte(`{"name":"A","geo":{"lat":52.5,"lon":13.4},"tags":["x",{"k":true}],"n":null,"big":12345678901234567890}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []gown.Field{{Path: "big", Value: "12345678901234567890"}, {Path: "geo.lat", Value: "52.5"}, {Path: "geo.lon", Value: "13.4"}, {Path: "n", Value: ""},
		{Path: "name", Value: "A"}, {Path: "tags.0", Value: "x"}, {Path: "tags.1.k", Value: "true"}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("field %d: got %v, want %v", i, got[i], want[i])
		}
	}
	if s, _ := JSON("", []byte(`"plain"`)); len(s) != 1 || s[0] != (gown.Field{Path: "value", Value: "plain"}) {
		t.Errorf("scalar: %v", s)
	}
	if _, err := JSON("", []byte(`{"a":`)); err == nil {
		t.Error("truncated JSON accepted")
	}
}

func TestCaps(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 100) + `1` + strings.Repeat(`}`, 100)
	if got, err := JSON("", []byte(deep)); err != nil || len(got) != 0 {
		t.Errorf("a leaf below MaxDepth was kept: %v, %v", got, err)
	}
	wide := "[" + strings.Repeat(`1,`, 5000) + "1]"
	if got, _ := JSON("", []byte(wide)); len(got) != MaxFields {
		t.Errorf("%d fields, want the cap %d", len(got), MaxFields)
	}
	long := `"` + strings.Repeat("x", 100_000) + `"`
	if got, _ := JSON("", []byte(long)); len(got) != 1 || len(got[0].Value) != MaxValue {
		t.Errorf("long value not clipped")
	}
}

func FuzzJSON(f *testing.F) {
	for _, s := range []string{`{}`, `[1,2]`, `{"a":{"b":[{"c":"d"}]}}`, `"x"`, `null`, `{"a":1e400}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fs, err := JSON("p", b)
		if err != nil {
			return
		}
		if len(fs) > MaxFields {
			t.Fatalf("%d fields", len(fs))
		}
		for _, x := range fs {
			if len(x.Value) > MaxValue {
				t.Fatalf("value of %d bytes", len(x.Value))
			}
		}
	})
}
