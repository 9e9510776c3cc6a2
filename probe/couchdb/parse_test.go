package couchdb

import (
	"net/http"
	"testing"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe/httpget"
)

func TestIdentify(t *testing.T) {
	tests := []struct {
		name            string
		rep             httpget.Reply
		product, vendor string
	}{
		{"couchdb", httpget.Reply{Status: 200, Body: []byte(welcome3)}, "CouchDB", "The Apache Software Foundation"},
		{"pouchdb", httpget.Reply{Status: 200, Body: []byte(`{"express-pouchdb":"Welcome!","version":"4.2.0","vendor":{"name":"PouchDB authors","version":"4.2.0"}}`)}, "PouchDB Server", "PouchDB authors"},
		{"cloudant", httpget.Reply{Status: 200, Body: []byte(`{"couchdb":"Welcome","version":"2.1.1","vendor":{"name":"IBM Cloudant","version":8162,"variant":"paas"}}`)}, "IBM Cloudant", "IBM Cloudant"},
		{"401 header", httpget.Reply{Status: 401, Header: http.Header{"Server": {"CouchDB/1.6.1 (Erlang OTP/17)"}}}, "CouchDB", ""},
		{"401 body", httpget.Reply{Status: 401, Body: []byte(authNeeded)}, "CouchDB", ""},
		{"nginx 401", httpget.Reply{Status: 401, Header: http.Header{"Server": {"nginx"}}, Body: []byte("<html>401</html>")}, "", ""},
		{"elastic", httpget.Reply{Status: 200, Body: []byte(`{"tagline":"You Know, for Search"}`)}, "", ""},
	}
	for _, tc := range tests {
		id := identify(&tc.rep)
		if id.product != tc.product || id.vendor != tc.vendor || id.couch != (tc.product != "") {
			t.Errorf("%s: %+v", tc.name, id)
		}
	}
}

func TestDBInfo(t *testing.T) {
	tests := []struct {
		body         string
		items, bytes uint64
		ok           bool
	}{
		{shopInfo, 7, 16644, true},
		{`{"doc_count":60,"disk_size":29596,"data_size":100}`, 60, 29596, true},
		{`{"doc_count":3,"sizes":{"file":900,"active":null,"external":10}}`, 3, 900, true},
		{`{"doc_count":18446744073709551615}`, 1<<64 - 1, 0, true},
		{`{"doc_count":-1}`, 0, 0, false},
		{`{"doc_count":1.5}`, 0, 0, false},
		{`{"doc_count":"7"}`, 0, 0, false},
	}
	for _, tc := range tests {
		var d dbInfo
		err := decode([]byte(tc.body), &d, "test")
		if (err == nil) != tc.ok {
			t.Errorf("%s: error %v", tc.body, err)
			continue
		}
		if tc.ok && (d.DocCount == nil || uint64(*d.DocCount) != tc.items || d.bytesOnDisk() != tc.bytes) {
			t.Errorf("%s: %+v", tc.body, d)
		}
	}
}

func TestJudge(t *testing.T) {
	tests := []struct {
		name  string
		admin bool
		s     survey
		want  gown.Status
	}{
		{"admin party", true, survey{code: 401}, gown.StatusOpen},
		{"listing refused", false, survey{code: 401}, gown.StatusAuthRequired},
		{"listing 403", false, survey{code: 403}, gown.StatusAuthRequired},
		{"listing failed", false, survey{}, gown.StatusUnknown},
		{"listing 500", false, survey{code: 500}, gown.StatusUnknown},
		{"one readable", false, survey{code: 200, total: 3, checked: 3, readable: 1, refused: []string{"a"}}, gown.StatusOpen},
		{"empty server", false, survey{code: 200}, gown.StatusOpen},
		{"all refuse", false, survey{code: 200, total: 2, checked: 2, refused: []string{"a", "b"}}, gown.StatusRestricted},
		{"refuse and unclear", false, survey{code: 200, total: 2, checked: 2, refused: []string{"a"}, unclear: []string{"b (HTTP 500)"}}, gown.StatusRestricted},
		{"all unclear", false, survey{code: 200, total: 1, checked: 1, unclear: []string{"b (HTTP 500)"}}, gown.StatusUnknown},
	}
	for _, tc := range tests {
		if got, reason := judge(tc.admin, &tc.s); got != tc.want || reason == "" {
			t.Errorf("%s: %s (%s), want %s", tc.name, got, reason, tc.want)
		}
	}
}

func TestEscapeName(t *testing.T) {
	for in, want := range map[string]string{
		"users": "users", "a/b": "a%2Fb", "x+y": "x%2By", "../_config": "..%2F_config",
		"q?x": "q%3Fx", "\r\n": "%0D%0A", "sp ace": "sp%20ace",
	} {
		if got := escapeName(in); got != want {
			t.Errorf("escapeName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHeadersOnly(t *testing.T) {
	in := `HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{"a":"b"}`
	if got := headersOnly(in); got != `HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n[body withheld]` {
		t.Errorf("got %q", got)
	}
}
