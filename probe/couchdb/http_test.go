package couchdb

import (
	"bufio"
	"errors"
	"strings"
	"testing"

	"github.com/gownscan/gown"
)

func read(s string) (*reply, error) {
	return readReply(bufio.NewReader(strings.NewReader(s)))
}

func TestReadReply(t *testing.T) {
	tests := []struct {
		name, in string
		code     int
		body     string
		err      error
	}{
		{"length", "HTTP/1.1 200 OK\r\nServer: CouchDB/3.3.3\r\nContent-Length: 2\r\n\r\n{}", 200, "{}", nil},
		{"close-delimited", "HTTP/1.1 401 Unauthorized\r\n\r\n{\"error\":\"unauthorized\"}", 401, `{"error":"unauthorized"}`, nil},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n[]\r\n0\r\n\r\n", 200, "[]", nil},
		{"interim", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1", 200, "1", nil},
		{"tls alert", "\x15\x03\x01\x00\x02\x02\x46", 0, "", errTLSRecord},
		{"ssh", "SSH-2.0-OpenSSH_9.2\r\n", 0, "", errNotHTTP},
		{"redis", "-ERR unknown command\r\n", 0, "", errNotHTTP},
		{"bad status", "HTTP/1.1 abc\r\n\r\n", 0, "", gown.ErrProtocol},
		{"cut body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}", 0, "", nil},
		{"huge", "HTTP/1.1 200 OK\r\n\r\n" + strings.Repeat("x", maxBody+1), 0, "", gown.ErrReplyTooLarge},
		{"endless 1xx", strings.Repeat("HTTP/1.1 102 Processing\r\n\r\n", 10), 0, "", gown.ErrProtocol},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := read(tc.in)
			if tc.code == 0 {
				if err == nil || (tc.err != nil && !errors.Is(err, tc.err)) {
					t.Fatalf("reply %+v, error %v, want %v", rep, err, tc.err)
				}
				return
			}
			if err != nil || rep.code != tc.code || string(rep.body) != tc.body {
				t.Fatalf("reply %+v, error %v", rep, err)
			}
		})
	}
}

func TestIdentify(t *testing.T) {
	tests := []struct {
		name            string
		rep             reply
		product, vendor string
	}{
		{"couchdb", reply{code: 200, body: []byte(welcome3)}, "CouchDB", "The Apache Software Foundation"},
		{"pouchdb", reply{code: 200, body: []byte(`{"express-pouchdb":"Welcome!","version":"4.2.0","vendor":{"name":"PouchDB authors","version":"4.2.0"}}`)}, "PouchDB Server", "PouchDB authors"},
		{"cloudant", reply{code: 200, body: []byte(`{"couchdb":"Welcome","version":"2.1.1","vendor":{"name":"IBM Cloudant","version":8162,"variant":"paas"}}`)}, "IBM Cloudant", "IBM Cloudant"},
		{"401 header", reply{code: 401, server: "CouchDB/1.6.1 (Erlang OTP/17)"}, "CouchDB", ""},
		{"401 body", reply{code: 401, body: []byte(authNeeded)}, "CouchDB", ""},
		{"nginx 401", reply{code: 401, server: "nginx", body: []byte("<html>401</html>")}, "", ""},
		{"elastic", reply{code: 200, body: []byte(`{"tagline":"You Know, for Search"}`)}, "", ""},
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
