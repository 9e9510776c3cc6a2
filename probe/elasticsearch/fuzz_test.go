package elasticsearch

import (
	"bytes"
	"github.com/gownscan/gown/probe/httpget"
	"testing"
)

// FuzzResponse feeds arbitrary bytes as the server's HTTP reply to the
// reader and every JSON decoder behind it: nothing may panic, and every cap
// must hold.
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
			if len(b.Version.Number) > maxField || len(b.ClusterName) > maxField {
				t.Fatal("banner field over the cap")
			}
			_ = b.product()
		}
		if inv, err := parseIndices(rp.Body, rp.Truncated); err == nil {
			if len(inv.Databases) > maxIndices {
				t.Fatalf("%d indices kept, cap %d", len(inv.Databases), maxIndices)
			}
			for _, d := range inv.Databases {
				if len(d.Name) > maxField {
					t.Fatal("index name over the cap")
				}
			}
			ransomNote(inv)
		}
		parseStats(rp.Body)
		if e, ok := parseError(rp.Body); ok && (len(e.Type) > maxField || len(e.Reason) > maxField) {
			t.Fatal("error field over the cap")
		}
		realm(rp.Header.Get("WWW-Authenticate"))
	})
}
