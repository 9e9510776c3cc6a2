package android

import (
	"bytes"
	"slices"
	"testing"
	"testing/iotest"

	"github.com/gownscan/gown/extract/android/androidtest"
)

// The fuzz targets check that no input panics or hangs a reader, and that
// what a reader returns stays inside its input. Seeds: the builders' output
// here plus testdata/fuzz/<Target>/.

func FuzzDex(f *testing.F) {
	f.Add(androidtest.Dex([]string{"https://api.example.net", "Lcom/x;", "日本"}))
	f.Fuzz(func(t *testing.T, b []byte) {
		type str struct {
			off int
			s   string
		}
		var whole []str
		errWhole := DexStrings(b, func(off int, s []byte) bool {
			if off < 0 || off > len(b) {
				t.Fatalf("offset %d outside %d bytes", off, len(b))
			}
			whole = append(whole, str{off, string(s)})
			return true
		})
		// Streamed in chunks, the same strings and the same verdict.
		for how, r := range cutReaders(b) {
			var streamed []str
			errStreamed := DexStringsFrom(r, len(b), func(off int, s []byte) bool {
				streamed = append(streamed, str{off, string(s)})
				return true
			})
			if !slices.Equal(whole, streamed) || (errWhole == nil) != (errStreamed == nil) {
				t.Fatalf("streamed %s: %d strings, err %v; whole: %d strings, err %v", how, len(streamed), errStreamed, len(whole), errWhole)
			}
		}
		// As if inflation stopped half-way: the reader stops too, having
		// given a first part of the strings, none read past the cut.
		half := len(b) / 2
		var cut []str
		DexStringsFrom(iotest.HalfReader(bytes.NewReader(b[:half])), len(b), func(off int, s []byte) bool {
			if off < 0 || off+len(s) > half {
				t.Fatalf("string at %d+%d read past the %d bytes written", off, len(s), half)
			}
			cut = append(cut, str{off, string(s)})
			return true
		})
		if len(cut) > len(whole) || !slices.Equal(cut, whole[:len(cut)]) {
			t.Fatalf("cut stream gave %d strings that are not the first of the %d", len(cut), len(whole))
		}
		// The same, read as written into the whole buffer.
		cut = cut[:0]
		DexStringsAsWritten(b, func(end int) bool { return end <= half }, func(off int, s []byte) bool {
			if off < 0 || off+len(s) > half {
				t.Fatalf("string at %d+%d read past the %d bytes written", off, len(s), half)
			}
			cut = append(cut, str{off, string(s)})
			return true
		})
		if len(cut) > len(whole) || !slices.Equal(cut, whole[:len(cut)]) {
			t.Fatalf("as written: %d strings that are not the first of the %d", len(cut), len(whole))
		}
		var all []str
		errAll := DexStringsAsWritten(b, func(int) bool { return true }, func(off int, s []byte) bool {
			all = append(all, str{off, string(s)})
			return true
		})
		if !slices.Equal(all, whole) || (errAll == nil) != (errWhole == nil) {
			t.Fatalf("as written, whole: %d strings (err %v), DexStrings %d (err %v)", len(all), errAll, len(whole), errWhole)
		}
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
