package hermes

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gownscan/gown/internal/npmpack"
)

// hermesCompiler is the npm package that ships hermesc for Linux, the
// compiler React Native runs at build time (MIT). It is fetched with npm
// pack into the cache folder the real-app tests use, never committed.
const hermesCompiler = "hermes-compiler@260318099.0.6"

// hermesc returns the path of hermesc, unpacked from the package tarball
// into a temporary folder. Without npm the test is skipped locally and
// fails in CI.
func hermesc(t *testing.T) string {
	t.Helper()
	b := npmpack.File(t, hermesCompiler, "package/hermesc/linux64-bin/hermesc", 256<<20)
	p := filepath.Join(t.TempDir(), "hermesc")
	if err := os.WriteFile(p, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// compile runs hermesc over testdata/NAME.js and checks that the
// committed testdata/NAME.hbc (a fuzz seed, and the bundle the extract
// tests plant) is what it writes.
func compile(t *testing.T, name string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), name+".hbc")
	cmd := exec.CommandContext(t.Context(), hermesc(t), "-emit-binary", "-out", out, name+".js")
	cmd.Dir = "testdata" // the file name given is kept in the debug info
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("hermesc: %v\n%s", err, b)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if want, err := os.ReadFile(filepath.Join("testdata", name+".hbc")); err != nil || !bytes.Equal(got, want) {
		t.Errorf("testdata/%s.hbc is not what hermesc writes from %s.js now (%v): copy %s over it", name, name, err, out)
	}
	return got
}

// TestRealBundle: a bundle compiled by the real hermesc, whose storage
// runs the strings together and shares bytes between them
// ("cache.northwind.comqtts://…"), gives each string whole: ASCII, UTF-16
// (a non-ASCII URL) and one past 255 bytes (the overflow table).
func TestRealBundle(t *testing.T) {
	b := compile(t, "bundle")
	tb, err := Open(b)
	if err != nil {
		t.Fatalf("bytecode version %d: %v", Version(b), err)
	}
	var got []string
	tb.Strings(func(off int, s []byte, wide bool) bool {
		if off < 0 || off > len(b) {
			t.Errorf("%q at %d outside %d bytes", s, off, len(b))
		}
		if !wide && !bytes.Equal(b[off:off+len(s)], s) {
			t.Errorf("%q not at %d", s, off)
		}
		got = append(got, string(s))
		return true
	})
	t.Logf("bytecode version %d, %d strings: %q", Version(b), tb.Len(), got)
	for _, w := range []string{"cache.northwind.com", "https://api.northwind.com/v1/login", "wss://push.northwind.com/socket",
		"mqtts://iot.northwind.com:8883", "https://cafe.northwind.com/menü", "https://overflow.northwind.com/" + strings.Repeat("x", 300)} {
		if !slices.Contains(got, w) {
			t.Errorf("%.60q not read whole", w)
		}
	}
}

// FuzzOpen: any input is refused or gives strings inside the file, within
// the caps, without a panic. Seeds: testdata/bundle.hbc (hermesc-built)
// and testdata/fuzz/FuzzOpen.
func FuzzOpen(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("testdata", "bundle.hbc")); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tb, err := Open(b)
		if err != nil {
			return
		}
		n := 0
		tb.Strings(func(off int, s []byte, wide bool) bool {
			n++
			if off < 0 || off > len(b) || !wide && off+len(s) > len(b) {
				t.Fatalf("string at %d (%d bytes) outside %d bytes", off, len(s), len(b))
			}
			return true
		})
		if n != tb.Len() || n > maxStrings {
			t.Fatalf("%d strings, table of %d", n, tb.Len())
		}
	})
}
