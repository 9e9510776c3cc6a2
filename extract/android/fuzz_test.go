package android

import (
	"testing"

	"github.com/gownscan/gown/extract/android/androidtest"
)

// The fuzz targets check that no input panics or hangs a reader, and that
// what a reader returns stays inside its input. Seeds: the builders' output
// here plus testdata/fuzz/<Target>/.

func FuzzDex(f *testing.F) {
	f.Add(androidtest.Dex([]string{"https://api.example.net", "Lcom/x;", "日本"}))
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = DexStrings(b, func(off int, s []byte) bool {
			if off < 0 || off > len(b) {
				t.Fatalf("offset %d outside %d bytes", off, len(b))
			}
			return true
		})
		// As if inflation stopped half-way: the reader must stop too, and
		// never look past what was written.
		written := len(b) / 2
		_ = DexStringsAsWritten(b, func(end int) bool { return end <= written }, func(off int, s []byte) bool {
			if off < 0 || off+len(s) > written {
				t.Fatalf("string at %d+%d read past the %d bytes written", off, len(s), written)
			}
			return true
		})
	})
}

func FuzzAXML(f *testing.F) {
	f.Add(manifestDoc())
	f.Fuzz(func(t *testing.T, b []byte) {
		x, _ := ParseXML(b)
		if x == nil {
			return
		}
		ReadManifest(x)
		ReadNetworkSecurity(x)
		for i := range x.Strings.Len() {
			x.Strings.Get(uint32(i))
		}
	})
}

func FuzzARSC(f *testing.F) {
	f.Add(androidtest.Table([]androidtest.Entry{
		{Type: "string", Name: "u", Str: "https://x.firebaseio.com"},
		{Type: "xml", Name: "n", Str: "res/xml/n.xml"},
		{Type: "string", Name: "r", Ref: 0x7f010000},
	}))
	f.Fuzz(func(t *testing.T, b []byte) {
		tb, _ := ParseTable(b)
		if tb == nil {
			return
		}
		for i := range tb.Strings.Len() {
			tb.Strings.Get(uint32(i))
		}
		tb.String(0x7f010000)
		tb.String(0x7f020000)
	})
}

func FuzzProtoXML(f *testing.F) {
	f.Add(protoManifestDoc())
	f.Fuzz(func(t *testing.T, b []byte) {
		if x, _ := ParseProtoXML(b); x != nil {
			ReadManifest(x)
		}
	})
}

func FuzzProtoTable(f *testing.F) {
	f.Add(protoTableDoc())
	f.Fuzz(func(t *testing.T, b []byte) {
		tb, _ := ParseProtoTable(b)
		if tb == nil {
			t.Fatal("nil table")
		}
		for i := range tb.Len() {
			s, off := tb.Get(i)
			if off >= 0 && string(b[off:off+len(s)]) != s {
				t.Fatalf("string %d (%q) is not at its offset %d", i, s, off)
			}
		}
		tb.String(0x7f010000)
		tb.String(0x7f020000)
	})
}
