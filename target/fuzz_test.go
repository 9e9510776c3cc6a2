package target

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/gownscan/gown"
)

// FuzzParse: any spec either parses into something a scan can use (a host
// or a prefix, a port in range, a hint the catalog knows) or is refused
// with ErrBadTarget; it never panics.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "[::1]:3306", "db.example.com:9200", "rediss://:pw@cache.example.com:7000/0",
		"mongodb+srv://u:p@c0.example.net/app", "https://shop.firebaseio.com/.json", "10.0.0.0/30", "gopher://x", "redis://",
		"256.1.1.1", "[::1", "-l", "host.123"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sp, err := Parse(s, catalog)
		if err != nil {
			if !errors.Is(err, gown.ErrBadTarget) {
				t.Fatalf("Parse(%q): %v is not ErrBadTarget", s, err)
			}
			return
		}
		if sp.Host == "" && !sp.Prefix.IsValid() || sp.Port < 0 || sp.Port > 65535 {
			t.Fatalf("Parse(%q) = %+v", s, sp)
		}
		// A host is an address or a name a resolver may be asked about:
		// nothing else gets past Parse to DNS.
		if _, err := netip.ParseAddr(sp.Host); sp.Host != "" && err != nil && CheckName(sp.Host) != nil {
			t.Fatalf("Parse(%q) = host %q, neither an address nor a host name", s, sp.Host)
		}
		if _, ok := catalog.Kind(sp.Hint); sp.Hint != "" && !ok {
			t.Fatalf("Parse(%q): hint %q is no store", s, sp.Hint)
		}
	})
}
