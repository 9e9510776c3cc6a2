package firestore

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe/httpget"
)

func testdata(t testing.TB, name string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDatabase(t *testing.T) {
	p, d, ok := Database(gown.Target{Path: databasePath("gown-shop")})
	if !ok || p != "gown-shop" || d != "(default)" {
		t.Errorf("Database(DatabasePath) = %q %q %t", p, d, ok)
	}
	for _, bad := range []string{"", "/v1/projects/x", "/v1/projects//databases/(default)", "/v2/projects/x/databases/y", "/v1/projects/x/databases/y/documents"} {
		if _, _, ok := Database(gown.Target{Path: bad}); ok {
			t.Errorf("Database(%q) accepted", bad)
		}
	}
	if got := kind.DataPath("/v1/projects/p/databases/(default)/documents/users"); got != "/v1/projects/p/databases/(default)" {
		t.Errorf("DataPath = %q", got)
	}
}

// TestParse reads the documented answers of documents.list.
func TestParse(t *testing.T) {
	a := parse(&httpget.Reply{Status: 200, Body: testdata(t, "list-documented.json")})
	if a.list == nil || len(a.list.Documents) != 1 || a.list.NextPageToken == "" {
		t.Fatalf("list: %+v", a)
	}
	if a := parse(&httpget.Reply{Status: 200, Body: testdata(t, "empty.json")}); a.list == nil || len(a.list.Documents) != 0 {
		t.Errorf("empty collection: %+v", a)
	}
	for name, want := range map[string]gown.Status{"permission-denied.json": gown.StatusRestricted,
		"not-found.json": gown.StatusNotService, "unauthenticated.json": gown.StatusAuthRequired} {
		a := parse(&httpget.Reply{Status: 403, Body: testdata(t, name)})
		if a.list != nil || a.status == "" {
			t.Fatalf("%s: %+v", name, a)
		}
		r := &gown.Result{}
		judgeError(r, &a, 1, 1)
		if r.Status != want || r.Reason == "" {
			t.Errorf("%s: %s (%s)", name, r.Status, r.Reason)
		}
	}
	// One collection refused among others that are not: not restricted.
	a = parse(&httpget.Reply{Status: 403, Body: testdata(t, "permission-denied.json")})
	r := &gown.Result{}
	judgeError(r, &a, 1, 2)
	if r.Status == gown.StatusRestricted {
		t.Error("restricted with one refusal of two reads")
	}
	// Typed values read as the app wrote them.
	var doc struct {
		Documents []struct {
			Fields map[string]json.RawMessage `json:"fields"`
		} `json:"documents"`
	}
	if err := json.Unmarshal(testdata(t, "list-documented.json"), &doc); err != nil {
		t.Fatal(err)
	}
	f := doc.Documents[0].Fields
	if untype(f["email"], 0) != "ada@example.test" || untype(f["age"], 0) != "36" {
		t.Errorf("untype: %v %v", untype(f["email"], 0), untype(f["age"], 0))
	}
	if m, ok := untype(f["address"], 0).(map[string]any); !ok || m["city"] != "Paris" {
		t.Errorf("mapValue: %v", untype(f["address"], 0))
	}
	if g, ok := untype(f["home"], 0).(map[string]any); !ok || g["latitude"] != 48.8566 {
		t.Errorf("geoPointValue: %v", untype(f["home"], 0))
	}
}

// FuzzParse: nothing may panic, never both a list and an error, the status
// is bounded, and untype terminates on any document.
func FuzzParse(f *testing.F) {
	for _, n := range []string{"list-documented.json", "permission-denied.json", "not-found.json", "unauthenticated.json", "empty.json"} {
		f.Add(200, testdata(f, n))
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		a := parse(&httpget.Reply{Status: status, Body: body})
		if a.list != nil && a.status != "" {
			t.Fatal("both a list and an error")
		}
		if len(a.status) > 64 {
			t.Fatalf("status %q", a.status)
		}
		if a.list != nil {
			for _, d := range a.list.Documents {
				for _, v := range d.Fields {
					untype(v, 0)
				}
			}
		}
		untype(body, 0)
	})
}
