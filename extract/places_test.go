package extract

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/gownscan/gown"
	"howett.net/plist"
)

// Recall and precision per place: every app the tests build, with the
// endpoints planted in each place extraction reads, and the decoys beside
// them (SDK and schema URLs, a dev server, version strings, file names).
// For each place: how many endpoints were planted, found, missed, and how
// many first-party endpoints nobody planted came out of its entries (false
// positives), and how many it gave that were rightly classed third-party
// (the decoys). Recall must be 100%; so must precision, and any extra is
// listed.

// placeRow is one line of the table.
type placeRow struct {
	planted, found int
	third          int // endpoints found there and rightly classed third-party (the decoys)
	missed, extra  []string
}

// tally adds one app's results to rows.
func tally(rows map[string]*placeRow, app *gown.App, want []planted) {
	got := map[string]gown.Endpoint{}
	for _, e := range app.Endpoints {
		got[e.Value] = e
	}
	isPlanted := map[string]bool{}
	placeOf := map[string]string{} // entry → place (an entry holding several places answers for them all under the last)
	row := func(p string) *placeRow {
		if rows[p] == nil {
			rows[p] = &placeRow{}
		}
		return rows[p]
	}
	for _, w := range want {
		isPlanted[w.value] = true
		placeOf[w.entry] = w.place
		r := row(w.place)
		r.planted++
		e, ok := got[w.value]
		if ok && slices.ContainsFunc(e.Sources, func(s gown.Source) bool { return s.Entry == w.entry }) {
			r.found++
		} else {
			r.missed = append(r.missed, w.value)
		}
	}
	for _, e := range app.Endpoints {
		if isPlanted[e.Value] {
			continue
		}
		p := "(other entries)"
		if q, ok := placeOf[e.Sources[0].Entry]; ok {
			p = q
		}
		r := row(p)
		if !e.FirstParty {
			r.third++
			continue
		}
		if derivedFirestore(app, e) {
			continue
		}
		r.extra = append(r.extra, fmt.Sprintf("%s (%s)", e.Value, app.File))
	}
}

// machoSection is one section of a hand-built Mach-O.
type machoSection struct {
	seg, name string
	data      []byte
}

// machoWith writes a 64-bit little-endian arm64 Mach-O executable with one
// segment per distinct segment name, holding the given sections, as clang
// lays out a small Objective-C program: C strings in __TEXT,__cstring,
// UTF-16 literals in __TEXT,__ustring, and CFString constants in
// __DATA_CONST,__cfstring pointing at their bytes. debug/macho reads it.
func machoWith(secs []machoSection) []byte {
	le := binary.LittleEndian
	var segs []string
	for _, s := range secs {
		if !slices.Contains(segs, s.seg) {
			segs = append(segs, s.seg)
		}
	}
	cmdsSize := len(segs)*72 + len(secs)*80
	dataOff := (32 + cmdsSize + 15) &^ 15
	offs := make([]int, len(secs))
	at := dataOff
	for i, s := range secs {
		offs[i] = at
		at += (len(s.data) + 15) &^ 15
	}
	out := make([]byte, at)
	h := out[:32]
	le.PutUint32(h[0:], 0xfeedfacf)
	le.PutUint32(h[4:], 0x0100000c) // CPU_TYPE_ARM64
	le.PutUint32(h[12:], 2)         // MH_EXECUTE
	le.PutUint32(h[16:], uint32(len(segs)))
	le.PutUint32(h[20:], uint32(cmdsSize))
	p := 32
	for _, seg := range segs {
		var idx []int
		for i, s := range secs {
			if s.seg == seg {
				idx = append(idx, i)
			}
		}
		c := out[p:]
		le.PutUint32(c[0:], 0x19) // LC_SEGMENT_64
		le.PutUint32(c[4:], uint32(72+80*len(idx)))
		copy(c[8:24], seg)
		first, last := offs[idx[0]], offs[idx[len(idx)-1]]+len(secs[idx[len(idx)-1]].data)
		le.PutUint64(c[24:], uint64(0x100000000+first)) // vmaddr
		le.PutUint64(c[32:], uint64(last-first))        // vmsize
		le.PutUint64(c[40:], uint64(first))             // fileoff
		le.PutUint64(c[48:], uint64(last-first))        // filesize
		le.PutUint32(c[56:], 5)
		le.PutUint32(c[60:], 5)
		le.PutUint32(c[64:], uint32(len(idx)))
		p += 72
		for _, i := range idx {
			sc := out[p:]
			copy(sc[0:16], secs[i].name)
			copy(sc[16:32], seg)
			le.PutUint64(sc[32:], uint64(0x100000000+offs[i]))
			le.PutUint64(sc[40:], uint64(len(secs[i].data)))
			le.PutUint32(sc[48:], uint32(offs[i]))
			p += 80
		}
	}
	for i, s := range secs {
		copy(out[offs[i]:], s.data)
	}
	return out
}

// objcBinary holds one planted URL in each of __cstring (a C string),
// __ustring (an NSString literal with a non-ASCII character, which clang
// stores as UTF-16) and __cfstring (a CFString constant whose bytes are a
// C string, pointed at from __DATA_CONST), with Apple and selector decoys.
func objcBinary() []byte {
	cstr := []byte("initWithFrame:\x00https://www.apple.com/DTDs/PropertyList-1.0.dtd\x00https://cstring.shop-planted.net/v1/login\x00" +
		"http://cfstring.shop-planted.net/feed\x00setValue:forKey:\x00")
	cfAt := bytes.Index(cstr, []byte("http://cfstring"))
	var ustr []byte
	for _, u := range utf16.Encode([]rune("https://ustring.shop-planted.net/café\x00")) {
		ustr = binary.LittleEndian.AppendUint16(ustr, u)
	}
	cf := make([]byte, 32) // isa, flags 0x7c8, pointer to the bytes, length
	binary.LittleEndian.PutUint64(cf[8:], 0x7c8)
	binary.LittleEndian.PutUint64(cf[16:], uint64(cfAt)) // an address in __cstring; readers here follow no pointers
	binary.LittleEndian.PutUint64(cf[24:], uint64(len("http://cfstring.shop-planted.net/feed")))
	return machoWith([]machoSection{
		{"__TEXT", "__text", make([]byte, 64)},
		{"__TEXT", "__cstring", cstr},
		{"__TEXT", "__ustring", ustr},
		{"__DATA_CONST", "__cfstring", cf},
	})
}

// placesIPA is an IPA with a planted value in each iOS place: both plists,
// a Go-built Mach-O (Go and Swift keep strings in __TEXT,__rodata/__const),
// an Objective-C style Mach-O (__cstring, __cfstring, __ustring), a React
// Native bundle and a Cordova page.
func placesIPA(t *testing.T) ([]byte, []planted) {
	info, err := plist.Marshal(map[string]any{
		"CFBundleIdentifier": "com.shop.places", "CFBundleShortVersionString": "2.0", "CFBundleExecutable": "Shop",
		"ShopAPIBase":            "https://plist.shop-planted.net/api",
		"NSAppTransportSecurity": map[string]any{"NSAllowsArbitraryLoads": false},
		"CFBundleURLTypes":       []any{map[string]any{"CFBundleURLSchemes": []any{"shopapp"}}},
	}, plist.BinaryFormat)
	if err != nil {
		t.Fatal(err)
	}
	gsi, err := plist.Marshal(map[string]any{"DATABASE_URL": "https://shop-places-1.firebaseio.com",
		"STORAGE_BUCKET": "shop-places-1.appspot.com", "PROJECT_ID": "shop-places-1"}, plist.XMLFormat)
	if err != nil {
		t.Fatal(err)
	}
	b := zipOf(t,
		entry{"Payload/Shop.app/Info.plist", info, false},
		entry{"Payload/Shop.app/GoogleService-Info.plist", gsi, false},
		entry{"Payload/Shop.app/Shop", goBinary(t, "darwin", "https://rodata.shop-planted.net/v3"), false},
		entry{"Payload/Shop.app/Frameworks/Net.framework/Net", objcBinary(), false},
		entry{"Payload/Shop.app/main.jsbundle", []byte(`fetch("https://jsbundle.shop-planted.net/x");fetch("http://localhost:8081/index.bundle")`), false},
		entry{"Payload/Shop.app/www/index.html", []byte(`<script src="https://cdn.jsdelivr.net/npm/x.js"></script><script>fetch("https://cordova-ios.shop-planted.net/api")</script>`), false},
	)
	return b, []planted{
		{"Info.plist", "Payload/Shop.app/Info.plist", "https://plist.shop-planted.net/api"},
		{"GoogleService-Info.plist", "Payload/Shop.app/GoogleService-Info.plist", "https://shop-places-1.firebaseio.com"},
		{"GoogleService-Info.plist", "Payload/Shop.app/GoogleService-Info.plist", "shop-places-1.appspot.com"},
		{"Mach-O __rodata (Go, Swift)", "Payload/Shop.app/Shop", "https://rodata.shop-planted.net/v3"},
		{"Mach-O __cstring", "Payload/Shop.app/Frameworks/Net.framework/Net", "https://cstring.shop-planted.net/v1/login"},
		{"Mach-O __cfstring", "Payload/Shop.app/Frameworks/Net.framework/Net", "http://cfstring.shop-planted.net/feed"},
		{"Mach-O __ustring", "Payload/Shop.app/Frameworks/Net.framework/Net", "https://ustring.shop-planted.net/caf%C3%A9"}, // escaped as a URL
		{"RN main.jsbundle", "Payload/Shop.app/main.jsbundle", "https://jsbundle.shop-planted.net/x"},
		{"Cordova www (iOS)", "Payload/Shop.app/www/index.html", "https://cordova-ios.shop-planted.net/api"},
	}
}

func TestRecallPerPlace(t *testing.T) {
	rows := map[string]*placeRow{}
	apk, want := plantedAPK(t, false)
	tally(rows, readApp(t, apk, "shop.apk"), want)

	base, want := plantedAPK(t, true)
	split := zipOf(t, entry{"AndroidManifest.xml", plantedManifest("com.shop.planted", true), false},
		entry{"lib/arm64-v8a/libapp.so", goBinary(t, "linux", "https://split.shop-planted.net/rpc"), false})
	xapk := zipOf(t, entry{"manifest.json", []byte(`{"package_name":"com.shop.planted"}`), false},
		entry{"config.arm64_v8a.apk", split, true}, entry{"com.shop.planted.apk", base, true})
	tally(rows, readApp(t, xapk, "shop.xapk"), append(want,
		planted{"XAPK native split", "lib/arm64-v8a/libapp.so", "https://split.shop-planted.net/rpc"}))

	aab, want := plantedAAB(t)
	tally(rows, readApp(t, aab, "shop.aab"), want)

	ipa, want := placesIPA(t)
	app := readApp(t, ipa, "shop.ipa")
	if len(app.Errors) > 0 {
		t.Errorf("ipa errors: %q", app.Errors)
	}
	tally(rows, app, want)

	places := make([]string, 0, len(rows))
	for p := range rows {
		places = append(places, p)
	}
	slices.Sort(places)
	var sb strings.Builder
	fmt.Fprintf(&sb, "%-32s %7s %5s %6s %5s %9s %11s\n", "place", "planted", "found", "missed", "extra", "precision", "third-party")
	var tp, tf, tm, te, tt int
	for _, p := range places {
		r := rows[p]
		prec := "-"
		if r.found+len(r.extra) > 0 {
			prec = fmt.Sprintf("%.0f%%", 100*float64(r.found)/float64(r.found+len(r.extra)))
		}
		fmt.Fprintf(&sb, "%-32s %7d %5d %6d %5d %9s %11d\n", p, r.planted, r.found, len(r.missed), len(r.extra), prec, r.third)
		tp, tf, tm, te, tt = tp+r.planted, tf+r.found, tm+len(r.missed), te+len(r.extra), tt+r.third
		for _, m := range r.missed {
			t.Errorf("%s: planted %s not found", p, m)
		}
		for _, x := range r.extra {
			t.Errorf("%s: first-party endpoint nobody planted: %s", p, x)
		}
	}
	fmt.Fprintf(&sb, "%-32s %7d %5d %6d %5d %9s %11d\n", "all", tp, tf, tm, te, fmt.Sprintf("%.0f%%", 100*float64(tf)/float64(max(tf+te, 1))), tt)
	t.Logf("recall and precision per place (apps built by the tests):\n%s", sb.String())
}
