package gcs

import (
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

// TestJudge reads fake-gcs-server's list and Google's documented error
// bodies for an anonymous caller and a missing bucket.
func TestJudge(t *testing.T) {
	for _, c := range []struct {
		name   string
		status int
		body   []byte
		want   gown.Status
		items  uint64
	}{
		{"list", 200, testdata(t, "list-fake-gcs-v1.56.1.json"), gown.StatusOpen, 2},
		{"anonymous", 401, testdata(t, "anonymous-401.json"), gown.StatusAuthRequired, 0},
		{"forbidden", 403, []byte(`{"error":{"code":403,"message":"x","errors":[{"reason":"forbidden"}]}}`), gown.StatusRestricted, 0},
		{"no bucket", 404, testdata(t, "nosuchbucket-404.json"), gown.StatusNotService, 0},
		{"other error", 429, []byte(`{"error":{"code":429,"message":"slow down"}}`), gown.StatusUnknown, 0},
		{"html", 200, []byte(`<html>App Engine app</html>`), gown.StatusNotService, 0},
	} {
		r := &gown.Result{}
		judge(r, &httpget.Reply{Status: c.status, Body: c.body})
		items := uint64(0)
		if r.Inventory != nil {
			items = r.Inventory.Items
		}
		if r.Status != c.want || items != c.items || r.Reason == "" {
			t.Errorf("%s: %s (%s), %d items", c.name, r.Status, r.Reason, items)
		}
	}
	for host, want := range map[string]string{"gown-shop.appspot.com.storage.googleapis.com": "gown-shop.appspot.com",
		"media.storage.googleapis.com": "media", "bucket.example.net": "bucket.example.net"} {
		if got := Bucket(host); got != want {
			t.Errorf("Bucket(%q) = %q, want %q", host, got, want)
		}
	}
}

// FuzzJudge feeds arbitrary replies to the verdict: nothing may panic, and
// only a list is open, counting what it lists.
func FuzzJudge(f *testing.F) {
	for _, n := range []string{"list-fake-gcs-v1.56.1.json", "anonymous-401.json", "nosuchbucket-404.json"} {
		f.Add(200, testdata(f, n))
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		rep := &httpget.Reply{Status: status, Body: body}
		r := &gown.Result{}
		judge(r, rep)
		l := parseList(rep)
		if (r.Status == gown.StatusOpen) != (l != nil) || r.Status == "" {
			t.Fatalf("status %s for list %v", r.Status, l != nil)
		}
		if l != nil && r.Inventory.Items != uint64(len(l.Items)) {
			t.Fatalf("%d items for %d listed", r.Inventory.Items, len(l.Items))
		}
	})
}
