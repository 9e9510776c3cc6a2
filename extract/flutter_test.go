package extract

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/extract/android/androidtest"
	"github.com/gownscan/gown/extract/dart"
	"github.com/gownscan/gown/extract/dart/darttest"
	"github.com/gownscan/gown/extract/ios/iostest"
	"howett.net/plist"
)

// A Flutter app: lib/<abi>/libapp.so is a Dart AOT snapshot in an ELF.
// No Dart compiler can be had here, so the arm64 library is a real one
// the Dart SDK's AOT compiler wrote (the sass snapshot of
// sass-embedded-linux-x64, Dart 3.13, x64 without compressed pointers)
// with some of its string objects overwritten in place by planted
// endpoints, and the x86_64 library is built by gcc around snapshot
// images laid out as Flutter's (compressed pointers; _kDartVmSnapshotData
// and _kDartIsolateSnapshotData). The snapshot's own URLs are shapes too:
// the truth is every URL a pattern of the test's own finds in the
// snapshot's raw bytes (the fragment and a sentence's last period left
// off: no endpoint has them).

// plantedDart are the endpoints written over string objects of the real
// snapshot: ASCII, and Latin-1 (a OneByteString's ü is one byte, 0xfc,
// which a scan for printable runs stops at).
var plantedDart = []string{"https://api.northwind.com/v1/flutter", "redis://cache.northwind.com:6379/0", "https://cafe.northwind.com/menü"}

// builtDart are the strings of the gcc-built library's isolate image: a
// TwoByteString (€ is past Latin-1), a short bare host:port and one-byte
// URLs, with its VM image holding a URL too.
var builtDart = []string{"wss://push.northwind.com/€/socket", "mqtts://iot.northwind.com:8883", "db.northwind.com:5432", "Ok"}

// truthURL finds URLs in raw bytes, knowing nothing of Dart objects.
var truthURL = regexp.MustCompile(`(?:https?|wss?)://[A-Za-z0-9][A-Za-z0-9.-]*[A-Za-z0-9](?::[0-9]+)?(?:/[!-~]*)?`)

// plantDart writes each string over a string object of the x64 snapshot
// image img that has room for it in the same allocation (16-byte units)
// and holds no URL, and returns the image.
func plantDart(t testing.TB, img []byte, strs []string) []byte {
	img = bytes.Clone(img)
	var spots []dart.String
	if err := dart.Strings(img, func(s dart.String) bool {
		if !s.Wide && s.Data == s.Off+16 && !bytes.Contains(s.Text, []byte("://")) {
			spots = append(spots, s)
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	for _, str := range strs {
		var b []byte
		for _, r := range str {
			b = append(b, byte(r)) // Latin-1
		}
		size := (16 + len(b) + 15) / 16 * 16
		i := slices.IndexFunc(spots, func(s dart.String) bool { return s.End-s.Off == size })
		if i < 0 {
			t.Fatalf("no string object of %d bytes to plant %q in", size, str)
		}
		s := spots[i]
		spots = slices.Delete(spots, i, i+1)
		binary.LittleEndian.PutUint64(img[s.Off+8:], uint64(len(b))<<1)
		n := copy(img[s.Data:s.End], b)
		clear(img[s.Data+n : s.End])
	}
	return img
}

// dartLib builds with gcc a library exporting Flutter's two snapshot
// data symbols, nil without gcc.
func dartLib(t testing.TB, vm, isolate []byte) []byte {
	arr := func(name string, b []byte) string {
		var sb strings.Builder
		fmt.Fprintf(&sb, "const unsigned char %s[%d] __attribute__((aligned(64))) = {", name, len(b))
		for _, c := range b {
			fmt.Fprintf(&sb, "%d,", c)
		}
		sb.WriteString("};\n")
		return sb.String()
	}
	return gccLib(t, arr("_kDartVmSnapshotData", vm)+arr("_kDartIsolateSnapshotData", isolate)+"const char *name = \"flutter\";\n")
}

// shapesFlutter is a Flutter app, com.northwind.mobile.
func shapesFlutter(t testing.TB) ([]byte, []shape) {
	real := darttest.RealSnapshot(t)
	f, err := elf.NewFile(bytes.NewReader(real))
	if err != nil {
		t.Fatal(err)
	}
	imgs := dart.Images(f, real)
	if len(imgs) != 1 {
		t.Fatalf("real snapshot: images %+v", imgs)
	}
	im := imgs[0]
	var want []shape
	seen := map[string]bool{}
	for _, m := range truthURL.FindAll(real[im.Off:im.End], -1) {
		v := strings.TrimSuffix(string(m), ".")
		if i := strings.IndexByte(v, '#'); i >= 0 {
			v = v[:i]
		}
		if seen[v] {
			continue
		}
		seen[v] = true
		party := gown.PartyUnknown
		if strings.Contains(v, "://github.com/") {
			party = gown.PartyThird
		}
		want = append(want, shape{"Flutter: the real snapshot's own URLs", "lib/arm64-v8a/libapp.so", v, party})
	}
	lib := slices.Concat(real[:im.Off], plantDart(t, real[im.Off:im.End], plantedDart), real[im.End:])
	man := androidtest.XML(androidtest.Node{Name: "manifest", Attrs: []androidtest.Attr{{Name: "package", Str: "com.northwind.mobile"}}})
	entries := []entry{{"AndroidManifest.xml", man, false}, {"lib/arm64-v8a/libapp.so", lib, false},
		{"assets/flutter_assets/AssetManifest.json", []byte(`{"assets/config/app.json":["assets/config/app.json"],".env":[".env"]}`), false},
		{"assets/flutter_assets/.env", []byte("API_BASE=https://env.northwind.com/api\nDEBUG=false\n"), false},
		{"assets/flutter_assets/assets/config/app.json", []byte(`{"store":"mongodb://mongo.northwind.com:27017/app","retries":3}`), false}}
	a := "lib/arm64-v8a/libapp.so"
	want = append(want,
		shape{"Flutter: real snapshot, planted ASCII", a, "https://api.northwind.com/v1/flutter", gown.PartyFirst},
		shape{"Flutter: real snapshot, planted ASCII", a, "redis://cache.northwind.com:6379/0", gown.PartyFirst},
		shape{"Flutter: real snapshot, planted Latin-1", a, "https://cafe.northwind.com/men%C3%BC", gown.PartyFirst},
		shape{"Flutter: flutter_assets .env", "assets/flutter_assets/.env", "https://env.northwind.com/api", gown.PartyFirst},
		shape{"Flutter: flutter_assets config JSON", "assets/flutter_assets/assets/config/app.json", "mongodb://mongo.northwind.com:27017/app", gown.PartyFirst})
	if built := dartLib(t, darttest.Image(darttest.Compressed, []string{"https://vm.northwind.com/status"}),
		darttest.Image(darttest.Compressed, builtDart)); built != nil {
		x := "lib/x86_64/libapp.so"
		entries = append(entries, entry{x, built, false})
		want = append(want,
			shape{"Flutter: compressed-pointer image, two-byte", x, "wss://push.northwind.com/%E2%82%AC/socket", gown.PartyFirst},
			shape{"Flutter: compressed-pointer image, one-byte", x, "mqtts://iot.northwind.com:8883", gown.PartyFirst},
			shape{"Flutter: compressed-pointer image, one-byte", x, "db.northwind.com:5432", gown.PartyFirst},
			shape{"Flutter: compressed-pointer image, one-byte", x, "https://vm.northwind.com/status", gown.PartyFirst})
	}
	return zipOf(t, entries...), want
}

// TestFlutterApp checks what the Flutter shapes do not: the framework,
// and that the snapshot's strings are read as string objects.
func TestFlutterApp(t *testing.T) {
	b, want := shapesFlutter(t)
	built := slices.ContainsFunc(want, func(w shape) bool { return w.entry == "lib/x86_64/libapp.so" })
	app := readApp(t, b, "flutter.apk")
	if !slices.Equal(app.Frameworks, []string{"flutter"}) {
		t.Errorf("frameworks %q, want flutter", app.Frameworks)
	}
	sections := map[string]bool{}
	for _, e := range app.Endpoints {
		for _, s := range e.Sources {
			if strings.HasSuffix(s.Entry, "libapp.so") {
				sections[s.Section+" "+s.Encoding] = true
			}
		}
	}
	for _, s := range []string{"dart snapshot _kDartSnapshotData latin-1", "dart snapshot _kDartIsolateSnapshotData utf-16le",
		"dart snapshot _kDartIsolateSnapshotData latin-1", "dart snapshot _kDartVmSnapshotData latin-1"} {
		if !sections[s] && (s == "dart snapshot _kDartSnapshotData latin-1" || built) {
			t.Errorf("no endpoint read from %q; sections %v", s, sections)
		}
	}
	sb, _ := shapesAPK(t)
	fw := readApp(t, sb, "shapes.xapk").Frameworks
	for _, f := range []string{"react-native-hermes", "unity-il2cpp", "xamarin"} {
		if !slices.Contains(fw, f) {
			t.Errorf("shapes app: frameworks %q, want %s", fw, f)
		}
	}
}

// iosDart are the strings of the iOS Flutter app's isolate image.
var iosDart = []string{"https://api.northwind.com/ios", "https://ios.northwind.com/menü", "wss://ios.northwind.com/€/feed", "Runner"}

// shapesFlutterIOS is a Flutter app for iOS, com.northwind.mobile: its
// Frameworks/App.framework/App is a Mach-O dylib whose __TEXT,__const
// holds the Dart snapshot images (compressed-pointer layout, as Flutter
// on arm64 writes them) that _kDartVmSnapshotData and
// _kDartIsolateSnapshotData mark, built here: no Dart compiler can be had.
func shapesFlutterIOS(t testing.TB) ([]byte, []shape) {
	info, err := plist.Marshal(map[string]any{"CFBundleIdentifier": "com.northwind.mobile", "CFBundleExecutable": "Runner"}, plist.BinaryFormat)
	if err != nil {
		t.Fatal(err)
	}
	vm := darttest.Image(darttest.Compressed, []string{"dart:core"})
	iso := darttest.Image(darttest.Compressed, iosDart)
	for len(vm)%64 != 0 {
		vm = append(vm, 0)
	}
	app := iostest.MachO(0x0100000c, []iostest.Section{{Name: "__text", Data: []byte{0x1f, 0x20, 0x03, 0xd5}}, {Name: "__const", Data: slices.Concat(vm, iso)}},
		[]iostest.Symbol{{Name: "_kDartVmSnapshotData", Sect: 1, External: true}, {Name: "_kDartIsolateSnapshotData", Sect: 1, Off: uint64(len(vm)), External: true}})
	f := "Payload/Runner.app/Frameworks/App.framework/App"
	b := zipOf(t, entry{"Payload/Runner.app/Info.plist", info, false}, entry{f, app, false},
		entry{"Payload/Runner.app/Frameworks/App.framework/flutter_assets/AssetManifest.json", []byte(`{}`), false})
	return b, []shape{
		{"Flutter iOS: App.framework snapshot, one-byte", f, "https://api.northwind.com/ios", gown.PartyFirst},
		{"Flutter iOS: App.framework snapshot, Latin-1", f, "https://ios.northwind.com/men%C3%BC", gown.PartyFirst},
		{"Flutter iOS: App.framework snapshot, two-byte", f, "wss://ios.northwind.com/%E2%82%AC/feed", gown.PartyFirst},
	}
}

func TestFlutterIOS(t *testing.T) {
	b, _ := shapesFlutterIOS(t)
	app := readApp(t, b, "runner.ipa")
	if !slices.Equal(app.Frameworks, []string{"flutter"}) || len(app.Errors) > 0 {
		t.Errorf("frameworks %q, errors %q", app.Frameworks, app.Errors)
	}
	for _, e := range app.Endpoints {
		if !strings.HasPrefix(e.Sources[0].Section, "dart snapshot kDartIsolateSnapshotData") {
			t.Errorf("%s read from %q, not the isolate image's string objects", e.Value, e.Sources[0].Section)
		}
	}
}
