package extract

import (
	"encoding/binary"
	"slices"
	"strings"
	"testing"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/extract/ios/iostest"
	"howett.net/plist"
)

// shortEndpoints are endpoints of at most 15 bytes: a Swift binary keeps
// them as small strings, immediates in its code, in no string section.
// (A bare internal name such as "db.corp:5432" is decoded too, see
// ios.TestSmallStringEncodings, but the rules report *.corp names only in
// an explicit URL or connection string, as from any other place.)
var shortEndpoints = []shape{
	{"", "", "10.1.2.3:6379", gown.PartyInternal},
	{"", "", "redis://db.corp", gown.PartyInternal},
	{"", "", "brewly.io:6379", gown.PartyFirst},
	{"", "", "mq.shrt.io:5672", gown.PartyUnknown},
}

// shapesSwift is an IPA of com.brewly.app whose universal binary
// (x86_64 and arm64, machine code built by the documented encodings: no
// Swift compiler can be had here) builds short endpoints as small
// strings, among short words that are none.
func shapesSwift(t testing.TB) ([]byte, []shape) {
	info, err := plist.Marshal(map[string]any{"CFBundleIdentifier": "com.brewly.app", "CFBundleExecutable": "Short"}, plist.BinaryFormat)
	if err != nil {
		t.Fatal(err)
	}
	strs := []string{"platform", "width"}
	for _, e := range shortEndpoints {
		strs = append(strs, e.value)
	}
	strs = append(strs, "<Unknown>")
	arm := machoWith([]machoSection{{"__TEXT", "__text", iostest.ARM64(strs)}, {"__TEXT", "__cstring", []byte("Short\x00")}})
	x86 := machoWith([]machoSection{{"__TEXT", "__text", iostest.AMD64(strs)}, {"__TEXT", "__cstring", []byte("Short\x00")}})
	binary.LittleEndian.PutUint32(x86[4:], 0x01000007) // CPU_TYPE_X86_64
	bin := iostest.Fat(map[uint32][]byte{0x0100000c: arm, 0x01000007: x86})
	b := zipOf(t, entry{"Payload/Short.app/Info.plist", info, false}, entry{"Payload/Short.app/Short", bin, false})
	var want []shape
	for _, e := range shortEndpoints {
		want = append(want, shape{"Swift small string (≤15 bytes, in code)", "Payload/Short.app/Short", e.value, e.party})
	}
	return b, want
}

// TestSwiftSmallStrings checks what the shape table does not: each short
// endpoint is read from both architectures' code, at the offset of the
// instruction building it, with a lower confidence.
func TestSwiftSmallStrings(t *testing.T) {
	b, _ := shapesSwift(t)
	app := readApp(t, b, "short.ipa")
	if len(app.Errors) > 0 {
		t.Errorf("errors %q", app.Errors)
	}
	for _, w := range shortEndpoints {
		v := w.value
		i := slices.IndexFunc(app.Endpoints, func(e gown.Endpoint) bool { return e.Value == v })
		if i < 0 {
			t.Errorf("%s not found", v)
			continue
		}
		e := app.Endpoints[i]
		var archs []string
		for _, s := range e.Sources {
			if strings.HasSuffix(s.Section, "__TEXT,__text swift small string") && s.Offset > 0 {
				archs = append(archs, strings.Split(s.Section, ":")[0])
			}
		}
		slices.Sort(archs)
		if !slices.Equal(archs, []string{"CpuAmd64", "CpuArm64"}) || e.Confidence >= codeConfidence {
			t.Errorf("%s: confidence %.2f, sources %+v: want both architectures' code and a lower confidence", v, e.Confidence, e.Sources)
		}
		t.Logf("%s (%s, %s, confidence %.2f): %s @%d, %s @%d", v, e.Kind, e.Party, e.Confidence, e.Sources[0].Section, e.Sources[0].Offset,
			e.Sources[len(e.Sources)-1].Section, e.Sources[len(e.Sources)-1].Offset)
	}
}
