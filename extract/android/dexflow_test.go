package android

import (
	"bytes"
	"fmt"
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

// TestDexBuiltResources: hosts kept as string resources and read with
// getString(R.string.x), by an Activity (a Context subclass calls its
// own) and through Resources, are joined with constants into endpoints;
// each resource part names its id and sits at the instruction that loads
// it. An id the table lacks builds nothing, nor does any getString without
// a table.
func TestDexBuiltResources(t *testing.T) {
	b := smaliDex(t, "Res")
	res := map[uint32]string{0x7f010002: "https://sync.northwind.com", 0x7f010003: "events.northwind.com:6379"}
	lookup := func(id uint32) (string, bool) { s, ok := res[id]; return s, ok }
	var got []Built
	if err := DexBuiltWith(b, lookup, func(bt Built) bool { got = append(got, bt); return true }); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"https://sync.northwind.com:9200/_search": {"https://sync.northwind.com", ":9200/_search"},
		"redis://events.northwind.com:6379":       {"redis://", "events.northwind.com:6379"},
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
		resParts := 0
		for _, p := range bt.Parts {
			texts = append(texts, p.Text)
			if p.Res != 0 {
				resParts++
				// const vA, #+BBBBBBBB: opcode 0x14, then the id's two halves.
				if res[p.Res] != p.Text || p.Off <= 0 || p.Off+6 > len(b) || b[p.Off] != 0x14 ||
					uint32(b[p.Off+2])|uint32(b[p.Off+3])<<8|uint32(b[p.Off+4])<<16|uint32(b[p.Off+5])<<24 != p.Res {
					t.Errorf("%s: resource part %+v not at its const instruction", bt.Value, p)
				}
			}
		}
		if !slices.Equal(texts, parts) || resParts != 1 {
			t.Errorf("%s: parts %q (%d from resources), want %q and 1", bt.Value, texts, resParts, parts)
		}
	}
	for v := range want {
		t.Errorf("%s not built", v)
	}
	n := 0
	if err := DexBuilt(b, func(Built) bool { n++; return true }); err != nil || n != 0 {
		t.Errorf("without resources: %d built, %v", n, err)
	}
}

// TestDexBuiltInstanceFields: a host and a port kept in instance fields,
// set from constants in the constructor, are joined in another method; a
// field stored two different constants (a path set in the constructor and
// changed by a setter) is no constant, and joins nothing.
func TestDexBuiltInstanceFields(t *testing.T) {
	b := smaliDex(t, "Fields")
	var got []Built
	if err := DexBuilt(b, func(bt Built) bool { got = append(got, bt); return true }); err != nil {
		t.Fatal(err)
	}
	for _, bt := range got {
		t.Logf("%s built in %s @%#x from %+v", bt.Value, bt.Method, bt.Off, bt.Parts)
	}
	if len(got) != 1 || got[0].Value != "amqp://queue.northwind.com:5672" || got[0].Method != "Lcom/northwind/Queue;->url" {
		t.Fatalf("built %+v, want amqp://queue.northwind.com:5672 alone, in Queue.url", got)
	}
	var texts []string
	for _, p := range got[0].Parts {
		texts = append(texts, p.Text)
		if !p.Num && (p.Off <= 0 || p.Off+len(p.Text) > len(b) || string(b[p.Off:p.Off+len(p.Text)]) != p.Text) {
			t.Errorf("part %q not at offset %d", p.Text, p.Off)
		}
	}
	if want := []string{"amqp://", "queue.northwind.com", ":", "5672"}; !slices.Equal(texts, want) {
		t.Errorf("parts %q, want %q", texts, want)
	}
}

// FuzzDexBuilt: any input gives built strings within the caps, with parts
// inside the file, or an error; never a panic or a hang. Seeds: the
// smali-built testdata/dexflow/*.dex and testdata/fuzz/FuzzDexBuilt.
func FuzzDexBuilt(f *testing.F) {
	for _, name := range []string{"Api.dex", "Res.dex", "Fields.dex"} {
		if b, err := os.ReadFile(filepath.Join("testdata", "dexflow", name)); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n := 0
		// Every id resolves, to a string naming it: the fuzzer reaches
		// the getString path with any id.
		res := func(id uint32) (string, bool) { return fmt.Sprintf("h%x.example", id), true }
		_ = DexBuiltWith(b, res, func(bt Built) bool {
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
