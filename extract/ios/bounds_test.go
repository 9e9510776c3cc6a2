package ios

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"howett.net/plist"
)

// bobj is one object of a binary plist the tests write: a string, or an
// array or dictionary (keys, then values) of object indexes.
type bobj struct {
	str  string
	kind byte // 's', 'a' or 'd'
	refs []int
}

// bplist writes objs as a binary plist with 4-byte offsets and references,
// the way CoreFoundation lays one out, top object first.
func bplist(objs []bobj, top int) []byte {
	b := []byte("bplist00")
	offs := make([]uint32, len(objs))
	for i, o := range objs {
		offs[i] = uint32(len(b))
		switch o.kind {
		case 's':
			b = appendCount(b, 0x50, len(o.str))
			b = append(b, o.str...)
		case 'a', 'd':
			n := len(o.refs)
			tag := byte(0xa0)
			if o.kind == 'd' {
				tag, n = 0xd0, n/2
			}
			b = appendCount(b, tag, n)
			for _, r := range o.refs {
				b = binary.BigEndian.AppendUint32(b, uint32(r))
			}
		}
	}
	table := len(b)
	for _, o := range offs {
		b = binary.BigEndian.AppendUint32(b, o)
	}
	tr := make([]byte, 32)
	tr[6], tr[7] = 4, 4
	binary.BigEndian.PutUint64(tr[8:], uint64(len(objs)))
	binary.BigEndian.PutUint64(tr[16:], uint64(top))
	binary.BigEndian.PutUint64(tr[24:], uint64(table))
	return append(b, tr...)
}

// appendCount writes a tag with its count: in the low nibble, or after it
// as a 4-byte integer object.
func appendCount(b []byte, tag byte, n int) []byte {
	if n < 15 {
		return append(b, tag|byte(n))
	}
	return binary.BigEndian.AppendUint32(append(b, tag|0x0f, 0x12), uint32(n))
}

// chain is n arrays, each holding the next, the last holding a string: n
// containers deep.
func chain(n int) []byte {
	objs := make([]bobj, n+1)
	for i := range n {
		objs[i] = bobj{kind: 'a', refs: []int{i + 1}}
	}
	objs[n] = bobj{kind: 's', str: "https://deep.example-gown.net"}
	return bplist(objs, 0)
}

// laughs is n arrays, each holding the one before twice, over a string:
// n+1 objects that decode to 2^(n+1)-1 values.
func laughs(n int) []byte {
	objs := []bobj{{kind: 's', str: "lol"}}
	for i := 1; i <= n; i++ {
		objs = append(objs, bobj{kind: 'a', refs: []int{i - 1, i - 1}})
	}
	return bplist(objs, n)
}

// wide is one array holding n references to one string: n+1 values.
func wide(n int) []byte {
	refs := make([]int, n)
	for i := range refs {
		refs[i] = 1
	}
	return bplist([]bobj{{kind: 'a', refs: refs}, {kind: 's', str: "x"}}, 0)
}

// throughMemo is a root array holding a chain of a containers and then a
// chain of b containers that ends in the first chain's head: the second
// path reaches objects already walked from the first, at a deeper level.
func throughMemo(a, b int) []byte {
	objs := []bobj{{kind: 'a', refs: []int{1, a + 1}}}
	for i := range a { // objects 1..a
		next := i + 2
		if i == a-1 {
			next = a + b + 1 // the string
		}
		objs = append(objs, bobj{kind: 'a', refs: []int{next}})
	}
	for i := range b { // objects a+1..a+b
		next := a + i + 2
		if i == b-1 {
			next = 1 // the first chain's head
		}
		objs = append(objs, bobj{kind: 'a', refs: []int{next}})
	}
	objs = append(objs, bobj{kind: 's', str: "leaf"})
	return bplist(objs, 0)
}

// xmlNest is n nested <array> elements in <plist> (or bare), a string in
// the innermost.
func xmlNest(n int, wrap bool) []byte {
	s := strings.Repeat("<array>", n) + "<string>https://deep.example-gown.net</string>" + strings.Repeat("</array>", n)
	if wrap {
		s = `<?xml version="1.0" encoding="UTF-8"?><plist version="1.0">` + s + "</plist>"
	}
	return []byte(s)
}

// TestPlistCaps is issue h21 item 2: each crafted plist is refused with
// ErrPlistCap (or ErrTextPlist) before the decoder sees it, quickly and in
// little memory; the same shapes one step under the caps decode.
func TestPlistCaps(t *testing.T) {
	for _, c := range []struct {
		name string
		b    []byte
		want error // nil: decodes
	}{
		{"binary 1M deep", chain(1_000_000), ErrPlistCap},
		{"binary 200k deep (under the object cap)", chain(200_000), ErrPlistCap},
		{"binary at the depth cap", chain(MaxPlistDepth), nil},
		{"binary one past the depth cap", chain(MaxPlistDepth + 1), ErrPlistCap},
		{"binary 2^41 values from 41 objects", laughs(40), ErrPlistCap},
		{"binary 2^18-1 values", laughs(17), nil},
		{"binary at the value cap", wide(MaxPlistObjects - 1), nil},
		{"binary one past the value cap", wide(MaxPlistObjects), ErrPlistCap},
		{"binary deeper through a shared object (40+40)", throughMemo(40, 40), ErrPlistCap},
		{"binary shared object within the cap (30+30)", throughMemo(30, 30), nil},
		{"xml 1M deep", xmlNest(1_000_000, true), ErrPlistCap},
		{"xml at the depth cap", xmlNest(MaxPlistDepth, true), nil},
		{"xml one past the depth cap", xmlNest(MaxPlistDepth+1, true), ErrPlistCap},
		{"bare xml at the depth cap", xmlNest(MaxPlistDepth, false), nil},
		{"bare xml one past the depth cap", xmlNest(MaxPlistDepth+1, false), ErrPlistCap},
		{"xml past the value cap", []byte("<plist><array>" + strings.Repeat("<true/>", MaxPlistObjects) + "</array></plist>"), ErrPlistCap},
		{"text form 1M deep", []byte(strings.Repeat("(", 1_000_000) + strings.Repeat(")", 1_000_000)), ErrTextPlist},
		{"text form escapes", []byte(`"` + strings.Repeat(`\\`, 300_000) + `"`), ErrTextPlist},
		{"xml whose first element the library does not know", []byte("<abab/>"), ErrTextPlist},
	} {
		t.Run(c.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			p, err := ParsePlist(c.b)
			took := time.Since(start)
			runtime.ReadMemStats(&after)
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%d bytes: %v in %v, %d KiB allocated", len(c.b), err, took, alloc>>10)
			if c.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				depth, values := decodedShape(p.Root)
				if depth > MaxPlistDepth || values > MaxPlistObjects {
					t.Errorf("decoded %d deep, %d values", depth, values)
				}
				// Past 100000 strings Strings stops and says so.
				n := 0
				if err := p.Strings(func(string, string) bool { n++; return true }); n == 0 || err != nil && !errors.Is(err, ErrPlistStrings) {
					t.Errorf("strings: %d, %v", n, err)
				}
				return
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			// The refusal costs a walk of what was read up to the cap and
			// no decoding: little memory (the XML tokeniser allocates some
			// 30 bytes of garbage per input byte it reads; the binary
			// walk, 6 bytes an object), which is deterministic, so it is
			// what is checked. Time (milliseconds here, alone on a machine)
			// is only guarded against a hang: the 2^41-value plist never
			// finished before the check, and the 1M-deep one crashed after
			// minutes; tests run under -race on a shared machine.
			if alloc > uint64(32*len(c.b))+16<<20 {
				t.Errorf("refusal allocated %d KiB", alloc>>10)
			}
			if took > time.Minute {
				t.Errorf("refusal took %v", took)
			}
		})
	}
}

// TestPlistMalformedBinary: trailers and tables that point outside the
// file, and a dictionary that contains itself, are errors, not panics or
// hangs.
func TestPlistMalformedBinary(t *testing.T) {
	good := chain(3)
	tr := len(good) - 32
	set := func(at int, v uint64, n int) []byte {
		b := bytes.Clone(good)
		for i := n - 1; i >= 0; i-- {
			b[at+i], v = byte(v), v>>8
		}
		return b
	}
	for name, b := range map[string][]byte{
		"too short":                  []byte("bplist00"),
		"offset size 0":              set(tr+6, 0, 1),
		"reference size 9":           set(tr+7, 9, 1),
		"top object out of range":    set(tr+16, 4, 8),
		"huge object count":          set(tr+8, 1<<62, 8),
		"table past the trailer":     set(tr+24, uint64(len(good)), 8),
		"table inside the header":    set(tr+24, 3, 8),
		"object offset past table":   set(len(good)-32-16, uint64(len(good)), 4),
		"reference out of range":     set(9, 99, 4),
		"self-referential":           bplist([]bobj{{kind: 'd', refs: []int{1, 0}}, {kind: 's', str: "k"}}, 0),
		"count runs past the table":  append(append([]byte("bplist00\xaf\x13"), make([]byte, 8)...), good[len(good)-48:]...),
		"array of 2^60 references":   set(8, 0xaf13_0fff_ffff_ffff, 8),
		"dictionary of 2^62 entries": set(8, 0xdf13_3fff_ffff_ffff, 8),
	} {
		p, err := ParsePlist(b)
		if err == nil {
			t.Errorf("%s: accepted: %#v", name, p.Root)
			continue
		}
		t.Logf("%s: %v", name, err)
	}
}

// TestPlistAgreesWithDecoder: what the bounded reader accepts decodes as
// the library alone decodes it, in both forms.
func TestPlistAgreesWithDecoder(t *testing.T) {
	v := map[string]any{"CFBundleIdentifier": "com.example.shop", "Nested": []any{map[string]any{"a": "b"}, []any{"c", true}},
		"NSAppTransportSecurity": map[string]any{"NSAllowsArbitraryLoads": true}, "Count": uint64(3)}
	for _, format := range []int{plist.XMLFormat, plist.BinaryFormat} {
		b, err := plist.Marshal(v, format)
		if err != nil {
			t.Fatal(err)
		}
		p, err := ParsePlist(b)
		if err != nil {
			t.Fatalf("format %d: %v", format, err)
		}
		var want any
		if _, err := plist.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(p.Root, want) {
			t.Errorf("format %d: %#v, want %#v", format, p.Root, want)
		}
	}
}

// TestPlistStringsBudget: a binary plist that uses one long string at many
// places yields it until the byte budget is spent, then says so.
func TestPlistStringsBudget(t *testing.T) {
	long := strings.Repeat("a", 1<<20)
	refs := make([]int, 64)
	for i := range refs {
		refs[i] = 1
	}
	p, err := ParsePlist(bplist([]bobj{{kind: 'a', refs: refs}, {kind: 's', str: long}}, 0))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	err = p.Strings(func(string, string) bool { n++; return true })
	if !errors.Is(err, ErrPlistStrings) || n == 0 || n*len(long) > p.budget {
		t.Errorf("yielded %d of 64 MiB-strings, err %v (budget %d)", n, err, p.budget)
	}
	t.Log(n, err)
}

// decodedShape measures a decoded tree: the containers on its deepest path
// and its values, dictionary keys counted, as the caps count them.
func decodedShape(v any) (depth, values int) {
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			d, n := decodedShape(e)
			depth, values = max(depth, d), values+n
		}
		return depth + 1, values + 1
	case map[string]any:
		for _, e := range v {
			d, n := decodedShape(e)
			depth, values = max(depth, d), values+n+1
		}
		return depth + 1, values + 1
	}
	return 0, 1
}

func ExampleParsePlist() {
	_, err := ParsePlist(chain(1_000_000))
	fmt.Println(err)
	_, err = ParsePlist(laughs(40))
	fmt.Println(err)
	// Output:
	// plist: bplist: 1000001 objects: plist over a safety cap (max 262144)
	// plist: bplist: decodes to over 262144 values (shared references count each time): plist over a safety cap
}

var writeSeeds = flag.Bool("seeds", false, "rewrite testdata/fuzz/FuzzPlist from the builders here")

// TestWriteFuzzSeeds writes the crafted seeds of FuzzPlist, with -seeds:
// go test ./extract/ios -run TestWriteFuzzSeeds -seeds. Without it, it
// checks that each seed file is there and still what the builder writes.
func TestWriteFuzzSeeds(t *testing.T) {
	seeds := map[string][]byte{
		"binary-deep-200":       chain(200),
		"binary-depth-cap":      chain(MaxPlistDepth),
		"binary-laughs-40":      laughs(40),
		"binary-through-shared": throughMemo(40, 40),
		"binary-self-reference": bplist([]bobj{{kind: 'd', refs: []int{1, 0}}, {kind: 's', str: "k"}}, 0),
		"xml-deep-2000":         xmlNest(2000, true),
		"xml-depth-cap":         xmlNest(MaxPlistDepth, true),
		"text-deep-2000":        []byte(strings.Repeat("(", 2000) + strings.Repeat(")", 2000)),
		"text-escapes":          []byte(`{ a = "` + strings.Repeat(`\\`, 2000) + `"; }`),
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzPlist")
	for name, b := range seeds {
		want := "go test fuzz v1\n[]byte(" + strconv.Quote(string(b)) + ")\n"
		p := filepath.Join(dir, name)
		if *writeSeeds {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(p)
		if err != nil || string(got) != want {
			t.Errorf("%s: missing or stale (%v): run with -seeds", p, err)
		}
	}
}
