package extract

import (
	"bytes"
	"encoding/binary"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"howett.net/plist"
)

// plantedIPA assembles an IPA: a binary Info.plist with ATS off and a URL,
// a GoogleService-Info.plist, a real arm64 Mach-O (cross-built) holding a
// URL, and a React Native bundle.
func plantedIPA(t *testing.T, encrypted bool) ([]byte, []planted) {
	info, err := plist.Marshal(map[string]any{
		"CFBundleIdentifier": "com.shop.planted", "CFBundleShortVersionString": "4.5", "CFBundleExecutable": "Shop",
		"ShopAPIBase":            "http://plist.shop-planted.net/api",
		"NSAppTransportSecurity": map[string]any{"NSAllowsArbitraryLoads": true},
	}, plist.BinaryFormat)
	if err != nil {
		t.Fatal(err)
	}
	gsi, err := plist.Marshal(map[string]any{"DATABASE_URL": "https://shop-ios-1.firebaseio.com",
		"STORAGE_BUCKET": "shop-ios-1.appspot.com", "API_KEY": "AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW"}, plist.XMLFormat)
	if err != nil {
		t.Fatal(err)
	}
	bin := goBinary(t, "darwin", "https://macho.shop-planted.net/v3")
	if encrypted {
		bin = withEncryptionInfo(t, bin)
	}
	b := zipOf(t,
		entry{"Payload/Shop.app/Info.plist", info, false},
		entry{"Payload/Shop.app/GoogleService-Info.plist", gsi, false},
		entry{"Payload/Shop.app/Shop", bin, false},
		entry{"Payload/Shop.app/main.jsbundle", []byte(`fetch("https://jsbundle.shop-planted.net/x")`), false},
	)
	return b, []planted{
		{"Info.plist", "Payload/Shop.app/Info.plist", "http://plist.shop-planted.net/api"},
		{"GoogleService-Info", "Payload/Shop.app/GoogleService-Info.plist", "https://shop-ios-1.firebaseio.com"},
		{"GoogleService-Info", "Payload/Shop.app/GoogleService-Info.plist", "shop-ios-1.appspot.com"},
		{"Mach-O", "Payload/Shop.app/Shop", "https://macho.shop-planted.net/v3"},
		{"main.jsbundle", "Payload/Shop.app/main.jsbundle", "https://jsbundle.shop-planted.net/x"},
	}
}

// withEncryptionInfo adds an LC_ENCRYPTION_INFO_64 with cryptid 1 in the
// padding after the load commands, as FairPlay-encrypted binaries carry.
func withEncryptionInfo(t *testing.T, b []byte) []byte {
	b = bytes.Clone(b)
	le := binary.LittleEndian
	if !bytes.HasPrefix(b, []byte("\xcf\xfa\xed\xfe")) {
		t.Fatal("not a 64-bit little-endian Mach-O")
	}
	at := 32 + int(le.Uint32(b[20:]))
	if !bytes.Equal(b[at:at+24], make([]byte, 24)) {
		// The fixture's assumption, not the machine's: the linker left no
		// padding to plant the command in. Fail, so it is seen.
		t.Fatal("no room after the load commands of the cross-built Mach-O")
	}
	for i, v := range []uint32{0x2c, 24, 0x4000, 0x1000, 1, 0} {
		le.PutUint32(b[at+4*i:], v)
	}
	le.PutUint32(b[16:], le.Uint32(b[16:])+1)
	le.PutUint32(b[20:], le.Uint32(b[20:])+24)
	return b
}

func TestPlantedIPA(t *testing.T) {
	b, want := plantedIPA(t, false)
	app := readApp(t, b, "shop.ipa")
	if app.Platform != gown.PlatformIOS || app.Format != "ipa" || app.ID != "com.shop.planted" || app.Version != "4.5" || app.Encrypted {
		t.Errorf("metadata: %+v", app)
	}
	if len(app.Errors) > 0 {
		t.Errorf("errors: %q", app.Errors)
	}
	rows, extra := recall(t, app, want)
	first := 0
	for _, e := range app.Endpoints {
		if e.FirstParty {
			first++
		}
	}
	logRecall(t, rows, extra, first)
	if len(app.Cleartext) != 1 || app.Cleartext[0].Policy != "Info.plist ATS: NSAllowsArbitraryLoads=true" ||
		len(app.Cleartext[0].Endpoints) != 1 || app.Cleartext[0].Endpoints[0] != "http://plist.shop-planted.net/api" {
		t.Errorf("cleartext = %+v", app.Cleartext)
	}
	if len(app.Credentials) != 1 || app.Credentials[0].Rule != "google-api-key" || app.Credentials[0].Sources[0].Section != "API_KEY" {
		t.Errorf("credentials = %+v", app.Credentials)
	}
}

func TestEncryptedIPAIsUnreadable(t *testing.T) {
	b, _ := plantedIPA(t, true)
	app := readApp(t, b, "shop.ipa")
	if !app.Encrypted {
		t.Fatal("encrypted binary not flagged")
	}
	if !strings.Contains(strings.Join(app.Errors, "\n"), "FairPlay-encrypted") {
		t.Errorf("errors = %q", app.Errors)
	}
}

// fatOf wraps a thin arm64 Mach-O in a universal (fat) header, as Xcode
// writes multi-architecture binaries.
func fatOf(thin []byte) []byte {
	const off = 0x4000
	h := make([]byte, off)
	be := binary.BigEndian
	be.PutUint32(h, 0xcafebabe)
	be.PutUint32(h[4:], 1)
	for i, v := range []uint32{0x0100000c, 0, off, uint32(len(thin)), 14} { // arm64, offset, size, 2^14 alignment
		be.PutUint32(h[8+4*i:], v)
	}
	return append(h, thin...)
}

func TestFatMachO(t *testing.T) {
	bin := fatOf(goBinary(t, "darwin", "https://fat.shop-planted.net/v1"))
	b := zipOf(t, entry{"Payload/Fat.app/Info.plist", []byte(infoPlistXML), false}, entry{"Payload/Fat.app/Fat", bin, false})
	app := readApp(t, b, "fat.ipa")
	rows, extra := recall(t, app, []planted{{"fat Mach-O", "Payload/Fat.app/Fat", "https://fat.shop-planted.net/v1"}})
	logRecall(t, rows, extra, len(app.Endpoints))
	if len(app.Errors) > 0 || app.ID != "com.shop.fat" {
		t.Errorf("id %q errors %q", app.ID, app.Errors)
	}
	for _, e := range app.Endpoints {
		if s := e.Sources[0]; !strings.HasPrefix(s.Section, "CpuArm64:__TEXT,") || s.Offset < 0x4000 {
			t.Errorf("source %+v: want the arm64 slice's section and an offset in the fat file", s)
		}
	}
}

const infoPlistXML = `<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict><key>CFBundleIdentifier</key><string>com.shop.fat</string></dict></plist>`

// deepBplist writes a binary plist of n arrays, each holding the next, the
// last a string: the shape that overflowed the decoder's stack.
func deepBplist(n int, leaf string) []byte {
	be := binary.BigEndian
	b := []byte("bplist00")
	var offs []byte
	for i := range n {
		offs = be.AppendUint32(offs, uint32(len(b)))
		b = be.AppendUint32(append(b, 0xa1), uint32(i+1))
	}
	offs = be.AppendUint32(offs, uint32(len(b)))
	b = append(append(b, 0x5f, 0x10, byte(len(leaf))), leaf...) // an ASCII string, its length as a 1-byte integer
	table := len(b)
	b = append(b, offs...)
	tr := make([]byte, 32)
	tr[6], tr[7] = 4, 4
	be.PutUint64(tr[8:], uint64(n+1))
	be.PutUint64(tr[24:], uint64(table))
	return append(b, tr...)
}

// TestDeepPlistKeepsTheApp is issue h21 item 2 through the app reader: a
// settings plist nested a million deep (and one 100000 deep, under the
// object cap), an XML one 100000 deep, and an Info.plist whose
// NSAppTransportSecurity is nested past the cap. Each over-cap plist is an
// error on the app naming the cap; its strings are still scanned as text;
// the rest of the app (identity, other entries) is read; all of it quickly.
func TestDeepPlistKeepsTheApp(t *testing.T) {
	info, err := plist.Marshal(map[string]any{"CFBundleIdentifier": "com.deep.planted", "CFBundleShortVersionString": "2.0"}, plist.XMLFormat)
	if err != nil {
		t.Fatal(err)
	}
	// extract/ios's tests take the XML a million deep; here 100000 is
	// as far past the cap and keeps the test quick under -race.
	xmlDeep := "<plist>" + strings.Repeat("<array>", 100_000) + "<string>https://xml.deep-planted.net</string>" + strings.Repeat("</array>", 100_000) + "</plist>"
	b := zipOf(t,
		entry{"Payload/Deep.app/Info.plist", info, false},
		entry{"Payload/Deep.app/Settings.bundle/Root.plist", deepBplist(1_000_000, "https://leaf.deep-planted.net/a"), true},
		entry{"Payload/Deep.app/Other.plist", deepBplist(100_000, "https://leaf2.deep-planted.net/b"), true},
		entry{"Payload/Deep.app/Deep.plist", []byte(xmlDeep), true},
		entry{"Payload/Deep.app/config.json", []byte(`{"api":"https://api.deep-planted.net/v1"}`), false},
	)
	// Alone on a machine the read takes a fraction of a second; the bound
	// only guards against a hang (before the caps, the 1M-deep plist
	// crashed gown after four minutes), with room for -race on a shared
	// machine.
	start := time.Now()
	app := readApp(t, b, "deep.ipa")
	if d := time.Since(start); d > time.Minute {
		t.Errorf("read took %v", d)
	}
	if app.ID != "com.deep.planted" || app.Version != "2.0" {
		t.Errorf("identity lost: id %q version %q", app.ID, app.Version)
	}
	for _, w := range []string{"Root.plist: plist: bplist: 1000001 objects: plist over a safety cap",
		"Other.plist: plist: bplist: containers nested over 64 deep: plist over a safety cap",
		"Deep.plist: plist: xml: elements nested over 66 deep: plist over a safety cap"} {
		wantError(t, app.Errors, w)
	}
	for _, h := range []string{"api.deep-planted.net", "leaf.deep-planted.net", "leaf2.deep-planted.net", "xml.deep-planted.net"} {
		if !slices.ContainsFunc(app.Endpoints, func(e gown.Endpoint) bool { return e.Host == h }) {
			t.Errorf("%s not found: %+v", h, app.Endpoints)
		}
	}

	// An Info.plist over the cap: the app has no identity, says why, and
	// its other entries are still read.
	deepInfo := "<plist><dict><key>CFBundleIdentifier</key><string>com.x</string><key>NSAppTransportSecurity</key>" +
		strings.Repeat("<array>", 100) + strings.Repeat("</array>", 100) + "</dict></plist>"
	b = zipOf(t, entry{"Payload/X.app/Info.plist", []byte(deepInfo), false},
		entry{"Payload/X.app/config.json", []byte(`{"api":"https://api.deep-planted.net/v1"}`), false})
	app = readApp(t, b, "x.ipa")
	wantError(t, app.Errors, "x.ipa!Payload/X.app/Info.plist: plist: xml: elements nested over 66 deep")
	if len(app.Endpoints) != 1 || app.Endpoints[0].Host != "api.deep-planted.net" {
		t.Errorf("endpoints = %+v", app.Endpoints)
	}
}
