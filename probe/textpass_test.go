package probe

import (
	"context"
	"errors"
	"net"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gownscan/gown"
)

// hostile is a server's string that tries everything at once: an xterm
// title and a screen clear, a C1 CSI, a bidi override, invalid UTF-8 and a
// password.
const hostile = "\x1b]0;pwned\x07\x1b[2J\u009b31m\u202eevil\xff\xfe password=hunter2"

// notPassed are the strings of a result that no server chooses: the target
// as the user or the app gave it (its path too: a container, a Firestore
// database; and the names the app uses under it), the prober's name and the verdict's enums.
var notPassed = map[string]bool{
	"Target.Host": true, "Target.Hint": true, "Target.Origin": true, "Target.Path": true, "Target.Names": true,
	"Store": true, "Status": true, "TLS.Mode": true,
}

// TestTextPassEveryString fills every string of a result, however deep,
// with hostile text and checks that none survives the pass. A string field
// added to gown.Result later fails this test until it is passed too (or
// listed in notPassed, with a reason).
func TestTextPassEveryString(t *testing.T) {
	r := &gown.Result{}
	fill(reflect.ValueOf(r).Elem())
	textPass(r)
	seen := 0
	walk(reflect.ValueOf(r).Elem(), "", func(path, s string) {
		if notPassed[path] {
			return
		}
		seen++
		if why := unsafeText(s); why != "" {
			t.Errorf("%s = %q: %s", path, s, why)
		}
	})
	if seen < 20 {
		t.Fatalf("only %d strings checked: the walk missed the result's fields", seen)
	}
}

// TestTextPassCaps: a server's megabyte in any field comes out bounded.
func TestTextPassCaps(t *testing.T) {
	big := strings.Repeat("x", 1<<20)
	r := &gown.Result{Product: big, Reason: big, Error: big, Details: map[string]string{"k": big, "n": strings.Repeat("7", 1000)},
		Inventory: &gown.Inventory{Databases: []gown.Database{{Name: big}}},
		Evidence:  []gown.Evidence{{Step: big, Sent: big, Received: big}}}
	textPass(r)
	for name, got := range map[string]int{"product": len(r.Product), "reason": len(r.Reason), "error": len(r.Error),
		"detail": len(r.Details["k"]), "number detail": len(r.Details["n"]), "database": len(r.Inventory.Databases[0].Name),
		"step": len(r.Evidence[0].Step), "received": len(r.Evidence[0].Received)} {
		if got > capEvidence {
			t.Errorf("%s: %d bytes after the pass", name, got)
		}
	}
	if !strings.HasPrefix(r.Details["n"], "777") || !strings.HasSuffix(r.Details["n"], "…") {
		t.Errorf("a long count detail should be cut, not masked: %.20q", r.Details["n"])
	}
}

// TestTextPassKeepsCleanResults: a clean result comes out unchanged,
// counts in Details included (the long-number mask would turn a large
// store_bytes into [NUM-..]).
func TestTextPassKeepsCleanResults(t *testing.T) {
	mk := func() *gown.Result {
		return &gown.Result{Product: "OpenSearch", Version: "2.19.6", Reason: "index listing open: 3 indices",
			Details:   map[string]string{"cluster_name": "gown-testbed", "store_bytes": "123456789012", "docs": "1500000000"},
			Facts:     gown.Facts{Admin: "anyone is server admin (admin party)"},
			Inventory: &gown.Inventory{Databases: []gown.Database{{Name: "users"}, {Name: ".kibana_1", System: true}}},
			Evidence:  []gown.Evidence{{Step: "GET /", Sent: `GET / HTTP/1.1\r\nHost: 127.0.0.1:9200\r\n`, Received: `HTTP/1.1 200 OK\r\n`}}}
	}
	r, want := mk(), mk()
	textPass(r)
	if !reflect.DeepEqual(r, want) {
		t.Errorf("clean result changed:\n got %+v\nwant %+v", r, want)
	}
}

// failingProber answers every target with an error carrying the server's
// words, as a prober wraps a refusal it could not place. It borrows the
// test prober's identity (echoProber) and replaces its Probe.
type failingProber struct {
	*echoProber
	err error
}

func (p failingProber) Probe(ctx context.Context, t gown.Target, d Dialer) (*gown.Result, error) {
	c, err := d.Dial(ctx, t)
	if err != nil {
		return nil, err
	}
	c.Close()
	return nil, p.err
}

// TestEngineMasksProberErrors: the error of a prober that returned no
// result becomes the result's Error and Reason (failed, Classify); both are
// the server's words and leave the engine masked and neutralised.
func TestEngineMasksProberErrors(t *testing.T) {
	ap := listen(t, func(c net.Conn) {})
	p := failingProber{echoProber: &echoProber{name: "failing", ports: []int{int(ap.Port())}}, err: errors.New("server said: " + hostile)}
	eng, err := New(Config{Workers: 1}, NewRegistry(p))
	if err != nil {
		t.Fatal(err)
	}
	in := make(chan gown.Target, 1)
	in <- gown.Target{Host: "127.0.0.1", Addr: ap.Addr(), Port: int(ap.Port())}
	close(in)
	var got []*gown.Result
	if err := eng.Run(t.Context(), in, func(r *gown.Result) { got = append(got, r) }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("%d results", len(got))
	}
	r := got[0]
	for name, s := range map[string]string{"error": r.Error, "reason": r.Reason} {
		if why := unsafeText(s); why != "" || !strings.Contains(s, "server said") {
			t.Errorf("%s %q: %s", name, s, why)
		}
	}
}

// unsafeText says what is wrong with s as output, or "".
func unsafeText(s string) string {
	switch {
	case !utf8.ValidString(s):
		return "invalid UTF-8"
	case strings.Contains(s, "hunter2"):
		return "the password survived"
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) || r == 0x202e {
			return "a control character survived"
		}
	}
	return ""
}

// fill sets every string reachable from v to hostile, giving each slice,
// map and pointer one element.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(hostile)
	case reflect.Pointer:
		if v.Type().Elem().Kind() == reflect.Struct && v.Type().Elem().PkgPath() == "time" {
			return
		}
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem())
	case reflect.Struct:
		if v.Type().PkgPath() == "time" || v.Type().PkgPath() == "net/netip" {
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i))
			}
		}
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0))
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k)
		fill(e)
		m.SetMapIndex(k, e)
		v.Set(m)
	}
}

// walk calls fn with every string reachable from v and its field path
// (map keys and values both count as the map's field).
func walk(v reflect.Value, path string, fn func(path, s string)) {
	switch v.Kind() {
	case reflect.String:
		fn(path, v.String())
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walk(v.Elem(), path, fn)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() {
				walk(v.Field(i), strings.TrimPrefix(path+"."+f.Name, "."), fn)
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			walk(v.Index(i), path, fn)
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			walk(k, path, fn)
			walk(v.MapIndex(k), path, fn)
		}
	}
}

// The checks above, for the real-server test of the pass in probe_test
// (textpass_real_test.go), which cannot live in this package: it imports a
// prober, and probers import probe.
var (
	// UnsafeText says what is wrong with s as output, or "".
	UnsafeText = unsafeText
	// WalkStrings calls fn with every string of r and its field path.
	WalkStrings = func(r *gown.Result, fn func(path, s string)) { walk(reflect.ValueOf(r).Elem(), "", fn) }
)
