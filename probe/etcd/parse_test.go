package etcd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe/flatten"
	"github.com/gownscan/gown/probe/httpget"
)

func testdata(t testing.TB, name string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestJudgeRange reads the range replies etcd 3.4.23 gave (testdata) and
// the refusals its gateway documents.
func TestJudgeRange(t *testing.T) {
	for _, c := range []struct {
		name   string
		status int
		body   string
		want   gown.Status
		count  uint64
	}{
		{"count", 200, string(testdata(t, "range-count-3.4.23.json")), gown.StatusOpen, 1},
		{"empty store", 200, `{"header":{"revision":"1"}}`, gown.StatusOpen, 0},
		{"no auth", 400, string(testdata(t, "range-noauth-3.4.23.json")), gown.StatusAuthRequired, 0},
		{"bad token", 401, `{"error":"etcdserver: invalid auth token","code":16}`, gown.StatusAuthRequired, 0},
		{"denied", 403, `{"error":"etcdserver: permission denied","code":7}`, gown.StatusRestricted, 0},
		{"no gateway", 404, `404 page not found`, gown.StatusUnknown, 0},
		{"html", 200, `<html>`, gown.StatusUnknown, 0},
		{"bad count", 200, `{"count":"-1"}`, gown.StatusUnknown, 0},
	} {
		r := &gown.Result{}
		n, open := judgeRange(r, &httpget.Reply{Status: c.status, Body: []byte(c.body)})
		if r.Status != c.want || n != c.count || open != (c.want == gown.StatusOpen) || r.Reason == "" {
			t.Errorf("%s: %s %d %t (%s)", c.name, r.Status, n, open, r.Reason)
		}
	}
	var rr rangeReply
	if err := json.Unmarshal(testdata(t, "range-keys-3.4.23.json"), &rr); err != nil || len(rr.KVs) != 1 || string(rr.KVs[0].Key) != "/app/config" {
		t.Errorf("keys reply: %+v %v", rr, err)
	}
	for key, want := range map[string]string{"/users/u1": "users", "users/u1": "users", "README": "README", "/x": "x", "//a": "/", "/": "/"} {
		if got := database(key); got != want {
			t.Errorf("database(%q) = %q, want %q", key, got, want)
		}
	}
	if prefixEnd("/users/") != "/users0" {
		t.Error("prefixEnd")
	}
}

// FuzzReplies feeds arbitrary bodies to the range verdict and the reply
// types: nothing may panic, an open verdict always carries its count, and
// a non-open one none.
func FuzzReplies(f *testing.F) {
	for _, n := range []string{"range-count-3.4.23.json", "range-noauth-3.4.23.json", "range-keys-3.4.23.json", "status-3.4.23.json"} {
		f.Add(200, testdata(f, n))
	}
	f.Add(400, []byte(`{"code":16}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		r := &gown.Result{}
		n, open := judgeRange(r, &httpget.Reply{Status: status, Body: body})
		if open != (r.Status == gown.StatusOpen) || (!open && n != 0) || r.Status == "" {
			t.Fatalf("%s, %d, %t", r.Status, n, open)
		}
		var rr rangeReply
		if json.Unmarshal(body, &rr) == nil {
			for _, kv := range rr.KVs {
				database(string(kv.Key))
				flatten.Body(kv.Value)
			}
		}
	})
}
