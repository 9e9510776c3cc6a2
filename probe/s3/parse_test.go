package s3

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe/httpget"
	"github.com/gownscan/gown/probe/objects"
)

func testdata(t testing.TB, name string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBucket(t *testing.T) {
	for host, want := range map[string]string{
		"my-bucket.s3.amazonaws.com":           "my-bucket",
		"my.dotted.bucket.s3.amazonaws.com":    "my.dotted.bucket",
		"my-bucket.s3.eu-west-1.amazonaws.com": "my-bucket",
		"my-bucket.s3-eu-west-1.amazonaws.com": "my-bucket",
		"media.storage.example.net":            "media",
		"s3.amazonaws.com":                     "",
		"203.0.113.7":                          "",
		"[2001:db8::1]":                        "",
		"localhost":                            "",
	} {
		got, ok := Bucket(host)
		if got != want || ok != (want != "") {
			t.Errorf("Bucket(%q) = %q, %t; want %q", host, got, ok, want)
		}
	}
	if pathHost("my-bucket.storage.example.net", "my-bucket") != "storage.example.net" {
		t.Error("pathHost")
	}
}

// TestJudge reads moto's listing and S3's documented error documents.
func TestJudge(t *testing.T) {
	for _, c := range []struct {
		name   string
		status int
		body   []byte
		want   gown.Status
		items  uint64
	}{
		{"listing", 200, testdata(t, "list-moto-5.2.5.xml"), gown.StatusOpen, 2},
		{"access denied", 403, testdata(t, "accessdenied.xml"), gown.StatusAuthRequired, 0},
		{"no such bucket", 404, testdata(t, "nosuchbucket.xml"), gown.StatusNotService, 0},
		{"all access disabled", 403, []byte(`<Error><Code>AllAccessDisabled</Code></Error>`), gown.StatusRestricted, 0},
		{"redirect", 301, []byte(`<Error><Code>PermanentRedirect</Code><Endpoint>b.s3-eu-west-1.amazonaws.com</Endpoint></Error>`), gown.StatusUnknown, 0},
		{"html", 200, []byte(`<html><body>hello</body></html>`), gown.StatusNotService, 0},
	} {
		rep := &httpget.Reply{Status: c.status, Body: c.body}
		l, e := parse(rep)
		r := &gown.Result{}
		judge(r, l, e, rep)
		items := uint64(0)
		if r.Inventory != nil {
			items = r.Inventory.Items
		}
		if r.Status != c.want || items != c.items || r.Reason == "" {
			t.Errorf("%s: %s (%s), %d items", c.name, r.Status, r.Reason, items)
		}
	}
	if objects.Prefix("users/u1.json") != "users" || objects.Prefix("README") != "README" || objects.Prefix("/x") != "/" {
		t.Error("database")
	}
	if escapeKey("users/a b#1.json") != "users/a%20b%231.json" {
		t.Errorf("escapeKey: %s", escapeKey("users/a b#1.json"))
	}
}

// FuzzListing feeds arbitrary replies to the parser and the verdict:
// nothing may panic, only a listing is open, and its item count is what
// it lists.
func FuzzListing(f *testing.F) {
	for _, n := range []string{"list-moto-5.2.5.xml", "accessdenied.xml", "nosuchbucket.xml"} {
		f.Add(200, testdata(f, n))
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		rep := &httpget.Reply{Status: status, Body: body}
		l, e := parse(rep)
		if l != nil && e != nil {
			t.Fatal("both a listing and an error")
		}
		r := &gown.Result{}
		judge(r, l, e, rep)
		if (r.Status == gown.StatusOpen) != (l != nil) || r.Status == "" {
			t.Fatalf("status %s for listing %v", r.Status, l != nil)
		}
		if l != nil && r.Inventory.Items != uint64(len(l.Contents)) {
			t.Fatalf("%d items for %d listed", r.Inventory.Items, len(l.Contents))
		}
	})
}

// TestReadObject: the read of one listed object decides a listed bucket.
func TestReadObject(t *testing.T) {
	for _, c := range []struct {
		status int
		body   []byte
		want   gown.Status
	}{
		{206, []byte(`{"email":"a`), gown.StatusOpen},
		{200, []byte(`x`), gown.StatusOpen},
		{403, testdata(t, "accessdenied.xml"), gown.StatusRestricted},
		{404, []byte(`<Error><Code>NoSuchKey</Code></Error>`), gown.StatusRestricted},
	} {
		r := &gown.Result{Status: gown.StatusOpen}
		readObject(r, &httpget.Reply{Status: c.status, Body: c.body})
		if r.Status != c.want || r.Reason == "" || r.Details["read"] == "" {
			t.Errorf("read %d: %s (%s)", c.status, r.Status, r.Reason)
		}
	}
}
