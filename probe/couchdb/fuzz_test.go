package couchdb

import (
	"bufio"
	"bytes"
	"testing"
)

// FuzzResponse feeds arbitrary bytes as the HTTP reply to the reader and
// every JSON decoder the probe uses. None may panic, no body may exceed the
// cap, and the identity read from a reply must be short, printable text.
func FuzzResponse(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := readReply(bufio.NewReader(bytes.NewReader(data)))
		if err != nil {
			return
		}
		if len(rep.body) > maxBody {
			t.Fatalf("body of %d bytes passed the cap", len(rep.body))
		}
		id := identify(rep)
		if len(id.version) > 130 || len(id.vendor) > 130 || bytes.ContainsAny([]byte(id.version+id.vendor), "\r\n") {
			t.Fatalf("identity not clipped: %+v", id)
		}
		var s session
		_ = decode(rep.body, &s, "session")
		var d dbInfo
		if decode(rep.body, &d, "db") == nil {
			_ = d.bytesOnDisk()
		}
		var names []string
		_ = decode(rep.body, &names, "all_dbs")
		for _, n := range names {
			if e := escapeName(n); bytes.ContainsAny([]byte(e), "/?#\r\n ") {
				t.Fatalf("name %q escapes to %q", n, e)
			}
		}
		_ = isObject(rep.body)
		_ = reasonOf(rep.body)
		_ = wantsTLS(rep, nil)
	})
}
