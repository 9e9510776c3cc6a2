package dart

import (
	"bytes"
	"debug/elf"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gownscan/gown/extract/dart/darttest"
)

// urlTruth finds URLs in raw bytes by a pattern of its own, without any
// knowledge of Dart objects: what a reader of the objects must not miss.
var urlTruth = regexp.MustCompile(`(?:https?|wss?)://[A-Za-z0-9][A-Za-z0-9.-]*[A-Za-z0-9](?::[0-9]+)?(?:/[!-~]*)?`)

func TestRealSnapshot(t *testing.T) {
	b := darttest.RealSnapshot(t)
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	imgs := Images(f, b)
	if len(imgs) != 1 || imgs[0].Symbol != "_kDartSnapshotData" {
		t.Fatalf("images %+v, want _kDartSnapshotData", imgs)
	}
	img := b[imgs[0].Off:imgs[0].End]
	feat := Features(img)
	if !strings.Contains(feat, "x64") || !strings.Contains(feat, "no-compressed-pointers") {
		t.Errorf("features %q", feat)
	}
	var n, wide, latin, ascii int
	var covered [][2]int
	err = Strings(img, func(s String) bool {
		n++
		switch {
		case s.Wide:
			wide++
		case !bytes.Equal(s.Text, img[s.Data:min(s.Data+len(s.Text), len(img))]):
			latin++
		default:
			ascii++
		}
		covered = append(covered, [2]int{s.Data, s.End})
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	// Every URL in the image's bytes lies in a string object read.
	urls := urlTruth.FindAllIndex(img, -1)
	missed := 0
	for _, m := range urls {
		in := false
		for _, c := range covered {
			if m[0] >= c[0] && m[1] <= c[1] {
				in = true
				break
			}
		}
		if !in {
			missed++
			t.Errorf("URL %q at %d is in no string object read", img[m[0]:m[1]], m[0])
		}
	}
	t.Logf("real Dart AOT snapshot (%s, %q): %d string objects (%d ASCII, %d Latin-1, %d two-byte); %d URLs in its bytes, %d in no string object",
		darttest.SassEmbedded, feat, n, ascii, latin, wide, len(urls), missed)
	if n < 9000 || wide == 0 {
		t.Errorf("%d strings, %d two-byte: want the ~9,800 one-byte and the two-byte strings of the snapshot", n, wide)
	}
}

var planted = []string{"https://api.northwind.com/v1", "x", "redis://cache.northwind.com:6379/0",
	"https://cafe.northwind.com/menü", "wss://push.northwind.com/€/socket", "10.1.2.3:6379",
	strings.Repeat("long string past the size tag ", 20)}

func TestLayouts(t *testing.T) {
	for _, l := range []darttest.Layout{darttest.Wide, darttest.Compressed, darttest.Narrow} {
		img := darttest.Image(l, planted)
		var got []string
		var wide []bool
		if err := Strings(img, func(s String) bool {
			got, wide = append(got, string(s.Text)), append(wide, s.Wide)
			return true
		}); err != nil {
			t.Fatalf("layout %d: %v", l, err)
		}
		if !slices.Equal(got, planted) {
			t.Errorf("layout %d: got %q, want %q", l, got, planted)
		}
		if !slices.Equal(wide, []bool{false, false, false, false, true, false, false}) {
			t.Errorf("layout %d: two-byte %v, want only the string with € so", l, wide)
		}
	}
}

func TestNotASnapshot(t *testing.T) {
	for _, b := range [][]byte{nil, []byte(Magic), append([]byte(Magic), make([]byte, 4096)...), bytes.Repeat([]byte("https://x.io "), 100)} {
		if err := Strings(b, func(String) bool { t.Error("a string from no snapshot"); return false }); err == nil {
			t.Errorf("%.20q: no error", b)
		}
	}
}

// FuzzStrings reads any image: it never panics, and every string lies in
// the image, after the previous one, with valid UTF-8 text.
func FuzzStrings(f *testing.F) {
	for _, l := range []darttest.Layout{darttest.Wide, darttest.Compressed, darttest.Narrow} {
		f.Add(darttest.Image(l, planted))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		prev := 0
		_ = Strings(b, func(s String) bool {
			if s.Off < prev || s.Data < s.Off || s.End <= s.Data || s.End > len(b) || !utf8.Valid(s.Text) {
				t.Fatalf("string %+v after %d in %d bytes", s, prev, len(b))
			}
			prev = s.End
			return true
		})
	})
}

// BenchmarkRealSnapshot reads every string object of the real snapshot's
// data image (1.5 MB): the work the Flutter pass adds per libapp.so.
func BenchmarkRealSnapshot(b *testing.B) {
	bin := darttest.RealSnapshot(b)
	f, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		b.Fatal(err)
	}
	im := Images(f, bin)[0]
	b.SetBytes(int64(im.End - im.Off))
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		if err := Strings(bin[im.Off:im.End], func(String) bool { n++; return true }); err != nil || n == 0 {
			b.Fatal(err, n)
		}
	}
}
