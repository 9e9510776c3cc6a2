package couchdb

import (
	"bytes"
	"testing"

	"github.com/gownscan/gown/probe/httpget"
)

// FuzzResponse feeds arbitrary bytes as the HTTP reply to the reader and
// every JSON decoder the probe uses. None may panic and no body may exceed
// the cap. (The identity's text is the server's: the engine's text pass
// bounds and neutralises it, probe/textpass_test.go.)
func FuzzResponse(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := httpget.ReadReply(bytes.NewReader(data))
		if err != nil {
			return
		}
		if len(rep.Body) > httpget.MaxBody {
			t.Fatalf("body of %d bytes passed the cap", len(rep.Body))
		}
		_ = identify(rep)
		var s session
		_ = decode(rep.Body, &s, "session")
		var d dbInfo
		if decode(rep.Body, &d, "db") == nil {
			_ = d.bytesOnDisk()
		}
		var names []string
		_ = decode(rep.Body, &names, "all_dbs")
		for _, n := range names {
			if e := escapeName(n); bytes.ContainsAny([]byte(e), "/?#\r\n ") {
				t.Fatalf("name %q escapes to %q", n, e)
			}
		}
		_ = isObject(rep.Body)
		_ = reasonOf(rep.Body)
	})
}
