package elasticsearch

import (
	"bytes"
	"github.com/gownscan/gown/probe/httpget"
	"testing"
)

// FuzzResponse feeds arbitrary bytes as the server's HTTP reply to the
// reader and every JSON decoder behind it: nothing may panic, and the body
// and index caps must hold. (The strings kept are the server's: the
// engine's text pass bounds them, probe/textpass_test.go.)
func FuzzResponse(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n[]"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		rp, err := httpget.ReadReply(bytes.NewReader(raw))
		if err != nil && rp == nil {
			return
		}
		if len(rp.Body) > httpget.MaxBody {
			t.Fatalf("body %d bytes, cap %d", len(rp.Body), httpget.MaxBody)
		}
		if b, err := parseBanner(rp.Body); err == nil {
			_ = b.product()
		}
		if inv, err := parseIndices(rp.Body, rp.Truncated); err == nil {
			if len(inv.Databases) > maxIndices {
				t.Fatalf("%d indices kept, cap %d", len(inv.Databases), maxIndices)
			}
			ransomNote(inv)
		}
		if inv, err := parseSearch(rp.Body); err == nil {
			if len(inv.Databases) > maxSearchIndices {
				t.Fatalf("%d indices kept from a search, cap %d", len(inv.Databases), maxSearchIndices)
			}
			ransomNote(inv)
		}
		parseStats(rp.Body)
		parseError(rp.Body)
		realm(rp.Header.Get("WWW-Authenticate"))
	})
}
