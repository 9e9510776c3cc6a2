package ios

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gownscan/gown/extract/ios/iostest"
)

// shortPlanted are endpoints of at most 15 bytes, and words around them.
var shortPlanted = []string{"10.1.2.3:6379", "db.corp:5432", "id", "platform", "cache.lan:11211", "x", "width", "10.1.2.3:6379", "redis://db.corp", "brewly.io:6379", "mq.shrt.io:5672", "<Unknown>"}

func TestSmallStringEncodings(t *testing.T) {
	for _, c := range []struct {
		arch string
		code []byte
	}{{ArchARM64, iostest.ARM64(shortPlanted)}, {ArchAMD64, iostest.AMD64(shortPlanted)}} {
		var got []string
		for _, s := range SmallStrings(c.code, c.arch) {
			got = append(got, s.Text)
			if s.Off < 0 || s.Off >= len(c.code) {
				t.Errorf("%s: %q at %d, outside %d bytes", c.arch, s.Text, s.Off, len(c.code))
			}
		}
		if !slices.Equal(got, shortPlanted) {
			t.Errorf("%s: got %q, want %q", c.arch, got, shortPlanted)
		}
	}
	if got := SmallStrings(iostest.ARM64(shortPlanted), "ppc"); got != nil {
		t.Errorf("unknown architecture: %+v", got)
	}
}

// getWindowsLiterals are the ASCII string literals of at most 15 bytes in
// get-windows 9.2.3's Swift sources (Sources/GetWindowsCLI/main.swift and
// Utilities.swift at the release's tag; "" left out): what its binary's
// code must build as small strings.
var getWindowsLiterals = []string{"com.mighty.app", "tell app id \"", "null", "<Unknown>", "com.apple.dock", "platform", "macos",
	"title", "id", "bounds", "x", "y", "width", "height", "owner", "name", "processId", "bundleId", "path", "memoryUsage", "url"}

// TestRealSwift reads the real universal Swift binary of get-windows:
// recall on its known short literals per architecture, precision over
// the distinct strings decoded, and what reading its string sections
// alone (as before) finds of them.
func TestRealSwift(t *testing.T) {
	b := iostest.RealSwift(t)
	bin, err := ReadMachO(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(bin.Code) != 2 {
		t.Fatalf("code sections %d, want x86_64 and arm64", len(bin.Code))
	}
	var cstr [][]byte // every C string of the string sections
	for _, s := range bin.Sections {
		if !s.UTF16 {
			cstr = append(cstr, bytes.Split(s.Data, []byte{0})...)
		}
	}
	var before int
	for _, l := range getWindowsLiterals {
		if slices.ContainsFunc(cstr, func(c []byte) bool { return string(c) == l }) {
			before++
		}
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "%-22s %6s %7s %9s %8s %9s\n", "code", "known", "decoded", "recall", "distinct", "precision")
	fmt.Fprintf(&sb, "%-22s %6d %7s %8.0f%% %8s %9s\n", "string sections only", len(getWindowsLiterals), "-", 100*float64(before)/float64(len(getWindowsLiterals)), "-", "-")
	for _, c := range bin.Code {
		seen := map[string]bool{}
		for _, s := range SmallStrings(c.Data, c.Arch) {
			seen[s.Text] = true
		}
		found := 0
		for _, l := range getWindowsLiterals {
			if seen[l] {
				found++
			} else {
				t.Errorf("%s: %q not decoded", c.Name, l)
			}
		}
		var other []string
		for s := range seen {
			if !slices.Contains(getWindowsLiterals, s) {
				other = append(other, s)
			}
		}
		slices.Sort(other)
		fmt.Fprintf(&sb, "%-22s %6d %7d %8.0f%% %8d %8.0f%%  (not in the sources: %q)\n", c.Name, len(getWindowsLiterals), found,
			100*float64(found)/float64(len(getWindowsLiterals)), len(seen), 100*float64(found)/float64(len(seen)), other)
		if len(other) > 4 {
			t.Errorf("%s: %d decoded strings not in the sources: %q", c.Name, len(other), other)
		}
	}
	t.Logf("%s (universal Swift binary), short literals of its sources:\n%s", iostest.GetWindows, sb.String())
}

// FuzzSmallStrings decodes any bytes as code of both architectures:
// no panic, and every string is 1 to 15 printable bytes at an offset in
// the code.
func FuzzSmallStrings(f *testing.F) {
	f.Add(iostest.ARM64(shortPlanted))
	f.Add(iostest.AMD64(shortPlanted))
	f.Fuzz(func(t *testing.T, code []byte) {
		for _, arch := range []string{ArchARM64, ArchAMD64} {
			for _, s := range SmallStrings(code, arch) {
				if s.Off < 0 || s.Off >= len(code) || len(s.Text) == 0 || len(s.Text) > 15 {
					t.Fatalf("%s: %q at %d in %d bytes", arch, s.Text, s.Off, len(code))
				}
				for _, c := range []byte(s.Text) {
					if c < 0x20 || c >= 0x7f {
						t.Fatalf("%s: %q is not printable ASCII", arch, s.Text)
					}
				}
			}
		}
	})
}

// BenchmarkSmallStringsReal decodes the small strings of both
// architectures' code of get-windows' universal binary.
func BenchmarkSmallStringsReal(b *testing.B) {
	bin, err := ReadMachO(iostest.RealSwift(b))
	if err != nil {
		b.Fatal(err)
	}
	var size int64
	for _, c := range bin.Code {
		size += int64(len(c.Data))
	}
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		for _, c := range bin.Code {
			if len(SmallStrings(c.Data, c.Arch)) == 0 {
				b.Fatal("none")
			}
		}
	}
}

func TestSnapshotSymbols(t *testing.T) {
	vm, iso := []byte("\xf5\xf5\xdc\xdcvm image"), []byte("\xf5\xf5\xdc\xdcisolate image!")
	data := slices.Concat(make([]byte, 32), vm, iso, []byte("after"))
	b := iostest.MachO(0x0100000c, []iostest.Section{{Name: "__text", Data: []byte{0x1f, 0x20, 0x03, 0xd5}}, {Name: "__const", Data: data}},
		[]iostest.Symbol{{Name: "_kDartVmSnapshotData", Sect: 1, Off: 32, External: true}, {Name: "_kDartIsolateSnapshotData", Sect: 1, Off: 32 + uint64(len(vm)), External: true},
			{Name: "_after", Sect: 1, Off: 32 + uint64(len(vm)+len(iso))}, {Name: "_kDartIsolateSnapshotInstructions", Sect: 0}})
	bin, err := ReadMachO(b)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range bin.Snapshots {
		got = append(got, s.Symbol+"="+string(b[s.Off:s.End]))
	}
	if want := []string{"kDartVmSnapshotData=" + string(vm), "kDartIsolateSnapshotData=" + string(iso)}; !slices.Equal(got, want) {
		t.Errorf("snapshots %q, want %q", got, want)
	}
}
