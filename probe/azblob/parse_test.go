package azblob

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

func TestContainer(t *testing.T) {
	for _, c := range []struct {
		host, path, account, container string
	}{
		{"shopdata.blob.core.windows.net", "/photos", "shopdata", "photos"},
		{"shopdata.blob.core.windows.net", "/photos/", "shopdata", "photos"},
		{"SHOPDATA.Blob.Core.Windows.Net.", "/photos", "shopdata", "photos"},
		{"shopdata.blob.core.windows.net", "", "", ""},
		{"shopdata.blob.core.windows.net", "/photos/2024/a.jpg", "", ""},
		{"127.0.0.1", "/devstoreaccount1/photos", "devstoreaccount1", "photos"},
		{"azurite.example", "/devstoreaccount1/photos", "devstoreaccount1", "photos"},
		{"127.0.0.1", "/photos", "", ""},
		{"127.0.0.1", "", "", ""},
	} {
		a, ctr, ok := Container(gown.Target{Host: c.host, Path: c.path})
		if ctr != c.container || ok != (c.container != "") || (ok && a != c.account) {
			t.Errorf("Container(%s %s) = %q %q %t", c.host, c.path, a, ctr, ok)
		}
	}
}

// TestParse reads Azurite's listing and errors and Azure's documented
// ResourceNotFound.
func TestParse(t *testing.T) {
	l, e := parse(&httpget.Reply{Status: 200, Body: testdata(t, "list-azurite-3.37.0.xml")})
	if l == nil || e != nil || len(l.Blobs) != 1 || l.Blobs[0].Name != "users/u1.json" || l.Blobs[0].Size != 17 || l.ContainerName != "cpub" {
		t.Fatalf("listing: %+v %+v", l, e)
	}
	r := &gown.Result{}
	inventory(r, l)
	if r.Inventory.Items != 1 || r.Inventory.Bytes != 17 || r.Inventory.Databases[0].Name != "users" {
		t.Errorf("inventory %+v", r.Inventory)
	}
	for name, want := range map[string]string{
		"authorizationfailure-azurite-3.37.0.xml": "AuthorizationFailure",
		"blobnotfound-azurite-3.37.0.xml":         "BlobNotFound",
		"resourcenotfound-documented.xml":         "ResourceNotFound",
	} {
		l, e := parse(&httpget.Reply{Status: 403, Body: testdata(t, name)})
		if l != nil || e == nil || e.Code != want {
			t.Errorf("%s: %+v %+v", name, l, e)
		}
	}
	// A truncated listing is no listing; a header-only error still counts.
	if l, _ := parse(&httpget.Reply{Status: 200, Truncated: true, Body: testdata(t, "list-azurite-3.37.0.xml")}); l != nil {
		t.Error("a cut listing was read")
	}
	h := map[string][]string{"X-Ms-Error-Code": {"ResourceNotFound"}}
	if _, e := parse(&httpget.Reply{Status: 404, Header: h}); e == nil || e.Code != "ResourceNotFound" {
		t.Errorf("header error: %+v", e)
	}
	for code, want := range map[string]gown.Status{
		"AuthorizationFailure": gown.StatusAuthRequired, "ResourceNotFound": gown.StatusAuthRequired,
		"NoAuthenticationInformation": gown.StatusAuthRequired, "PublicAccessNotPermitted": gown.StatusAuthRequired,
		"ContainerNotFound": gown.StatusNotService, "AccountIsDisabled": gown.StatusRestricted, "ServerBusy": gown.StatusUnknown,
	} {
		r := &gown.Result{}
		judgeError(r, code)
		if r.Status != want || r.Reason == "" || r.Details["error"] != code {
			t.Errorf("%s: %s (%s)", code, r.Status, r.Reason)
		}
	}
	if escapeName("users/a b#1.json") != "users/a%20b%231.json" || objects.Prefix("x") != "x" || objects.Prefix("/x") != "/" {
		t.Error("escapeName/database")
	}
}

// FuzzParse feeds arbitrary replies to the parser and the inventory:
// nothing may panic, never both a listing and an error, an error code is
// bounded, and the inventory counts what is listed.
func FuzzParse(f *testing.F) {
	for _, n := range []string{"list-azurite-3.37.0.xml", "authorizationfailure-azurite-3.37.0.xml",
		"blobnotfound-azurite-3.37.0.xml", "resourcenotfound-documented.xml"} {
		f.Add(200, testdata(f, n))
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		l, e := parse(&httpget.Reply{Status: status, Body: body})
		if l != nil && e != nil {
			t.Fatal("both a listing and an error")
		}
		if e != nil && (len(e.Code) > 64 || e.Code == "") {
			t.Fatalf("error code %q", e.Code)
		}
		if l != nil {
			r := &gown.Result{}
			inventory(r, l)
			if r.Inventory.Items != uint64(len(l.Blobs)) {
				t.Fatalf("%d items for %d listed", r.Inventory.Items, len(l.Blobs))
			}
		}
	})
}
