package android

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// smaliDex assembles testdata/dexflow/NAME.smali with smali (Debian
// libsmali-java, which apktool pulls in: scripts/install-deps.sh), the
// assembler the Android build tools' own output is checked against, and
// checks the committed NAME.dex (a fuzz seed) is what it writes. Without
// smali the committed file is used, except in CI, where smali must be there.
func smaliDex(t *testing.T, name string) []byte {
	t.Helper()
	want, err := os.ReadFile(filepath.Join("testdata", "dexflow", name+".dex"))
	if err != nil {
		t.Fatal(err)
	}
	smali, err := exec.LookPath("smali")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("smali not installed in CI: %v", err)
		}
		t.Logf("smali not installed: reading the committed %s.dex", name)
		return want
	}
	out := filepath.Join(t.TempDir(), "classes.dex")
	if b, err := exec.CommandContext(t.Context(), smali, "assemble", "-o", out, filepath.Join("testdata", "dexflow", name+".smali")).CombinedOutput(); err != nil {
		t.Fatalf("smali: %v\n%s", err, b)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("testdata/dexflow/%s.dex is not what smali writes from %s.smali now: copy %s over it", name, name, out)
	}
	return got
}

// TestDexBuilt: a class assembled by smali builds three endpoints at run
// time, each from constants kept apart: a StringBuilder chain over a
// static field set in <clinit>, a char and an int; String.concat of two
// literals; String.format over an Object[] with a boxed int. Each comes
// back with its parts, each part at the offset of its bytes (a string) or
// of the instruction that loads it (a number).
func TestDexBuilt(t *testing.T) {
	b := smaliDex(t, "Api")
	var got []Built
	if err := DexBuilt(b, func(bt Built) bool { got = append(got, bt); return true }); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"redis://cache.northwind.com:6379":         {"redis://", "cache.northwind.com", ":", "6379"},
		"http://search.northwind.com:9200/_search": {"http://search.northwind.com", ":9200/_search"},
		"mongodb://mongo.northwind.com:27017/app":  {"mongodb://%s:%d/app", "mongo.northwind.com", "27017"},
	}
	for _, bt := range got {
		t.Logf("%s built in %s @%#x from %+v", bt.Value, bt.Method, bt.Off, bt.Parts)
		parts, ok := want[bt.Value]
		if !ok {
			t.Errorf("built %q: not planted", bt.Value)
			continue
		}
		delete(want, bt.Value)
		var texts []string
		for _, p := range bt.Parts {
			texts = append(texts, p.Text)
			if p.Num {
				continue
			}
			if p.Off <= 0 || p.Off+len(p.Text) > len(b) || string(b[p.Off:p.Off+len(p.Text)]) != p.Text {
				t.Errorf("%s: part %q not at offset %d", bt.Value, p.Text, p.Off)
			}
		}
		if !slices.Equal(texts, parts) {
			t.Errorf("%s: parts %q, want %q", bt.Value, texts, parts)
		}
		if !strings.HasPrefix(bt.Method, "Lcom/northwind/Api;->") || bt.Off <= 0 || bt.Off >= len(b) {
			t.Errorf("%s: method %q offset %d", bt.Value, bt.Method, bt.Off)
		}
	}
	for v := range want {
		t.Errorf("%s not built", v)
	}
}

// FuzzDexBuilt: any input gives built strings within the caps, with parts
// inside the file, or an error; never a panic or a hang. Seeds: the
// smali-built testdata/dexflow/*.dex and testdata/fuzz/FuzzDexBuilt.
func FuzzDexBuilt(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("testdata", "dexflow", "Api.dex")); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n := 0
		_ = DexBuilt(b, func(bt Built) bool {
			n++
			if len(bt.Value) > maxBuiltLen || len(bt.Parts) > maxBuiltParts || len(bt.Parts) < 2 {
				t.Fatalf("built %d bytes from %d parts", len(bt.Value), len(bt.Parts))
			}
			for _, p := range bt.Parts {
				if p.Off < 0 || p.Off >= len(b) {
					t.Fatalf("part at %d outside %d bytes", p.Off, len(b))
				}
			}
			return true
		})
		if n > maxBuiltOut {
			t.Fatalf("%d built strings", n)
		}
	})
}
