package extract

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gownscan/gown/extract/android/androidtest"
	"howett.net/plist"
)

// evil is what a crafted app writes where a name goes: an OSC that retitles
// the terminal, a CSI that clears it, a C1 CSI, a right-to-left override,
// a line separator and an invalid UTF-8 byte.
const evil = "\x1b]0;pwned\x07\x1b[2J\u009b31m\u202e\u2028\xff"

// unsafeText says what in s could drive a terminal or reorder what it
// shows: the characters redact.Text renders as escapes.
func unsafeText(s string) string {
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			return fmt.Sprintf("invalid UTF-8 at %d", i)
		case r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f:
			return fmt.Sprintf("control %U at %d", r, i)
		case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x2028, r == 0x2029:
			return fmt.Sprintf("format character %U at %d", r, i)
		}
	}
	return ""
}

// unsafeStrings lists every string field of v (walked by reflection, so a
// field added to gown.App later is checked too) that unsafeText faults.
func unsafeStrings(v reflect.Value, path string, out *[]string) {
	switch v.Kind() {
	case reflect.String:
		if why := unsafeText(v.String()); why != "" {
			*out = append(*out, fmt.Sprintf("%s = %q: %s", path, v.String(), why))
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			unsafeStrings(v.Elem(), path, out)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			unsafeStrings(v.Field(i), path+"."+v.Type().Field(i).Name, out)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			unsafeStrings(v.Index(i), fmt.Sprintf("%s[%d]", path, i), out)
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			unsafeStrings(k, path+"{key}", out)
			unsafeStrings(v.MapIndex(k), path+"{}", out)
		}
	}
}

// TestTextPass is issue h21 item 1 on the app side: an APK and an IPA
// whose entry names, manifest values, dex strings, resource names, plist
// keys and broken entries hold terminal escapes, bidi overrides and invalid
// UTF-8. No string of the App extraction returns holds any of them; each
// comes out as a visible escape; and the endpoints are still found.
func TestTextPass(t *testing.T) {
	// The resource table holds UTF-16: no invalid byte in this one name.
	nscPath := "res/xml/\x1b]0;pwned\x07\u202e.xml"
	manifest := androidtest.XML(androidtest.Node{Name: "manifest", Attrs: []androidtest.Attr{
		{Name: "versionName", Str: "1.0" + evil, ResID: attrVersion}, {Name: "package", Str: "com.evil" + evil}},
		Children: []androidtest.Node{
			{Name: "uses-sdk", Attrs: []androidtest.Attr{{Name: "targetSdkVersion", Type: typeInt, Data: 33, ResID: attrTarget}}},
			{Name: "application", Attrs: []androidtest.Attr{{Name: "networkSecurityConfig", Type: typeRef, Data: 0x7f010000, ResID: attrNSC}}}}})
	nsc := androidtest.XML(androidtest.Node{Name: "network-security-config", Children: []androidtest.Node{
		{Name: "base-config", Attrs: []androidtest.Attr{{Name: "cleartextTrafficPermitted", Type: typeBool, Data: 1}}}}})
	apk := zipOf(t,
		entry{"AndroidManifest.xml", manifest, false},
		entry{"resources.arsc", androidtest.Table([]androidtest.Entry{{Type: "xml", Name: "nsc", Str: nscPath}}), false},
		entry{nscPath, nsc, false},
		// url.URL.String percent-escapes the override, the C1 CSI and the
		// invalid byte in the path; a host holding them is no host.
		entry{"classes.dex", androidtest.Dex([]string{"http://api.evil-planted.net/\u202e\u009b\xff/x",
			"https://evil\u202e.evil-planted.net/", "mongodb://u:p" + evil + "@db.evil-planted.net/x"}), false},
		entry{"assets/" + evil + ".json", []byte(`{"u":"https://cfg.evil-planted.net/v1","k":"AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY"}`), false},
		entry{"res/xml/" + evil + "broken.xml", []byte("\x03\x00\x08\x00\xff\xff\xff\xff"), false},
	)
	info, err := plist.Marshal(map[string]any{"CFBundleIdentifier": "com.evil" + evil, "CFBundleShortVersionString": evil,
		"Api" + evil: map[string]any{"Base" + evil: "https://plist.evil-planted.net/v2"}}, plist.BinaryFormat)
	if err != nil {
		t.Fatal(err)
	}
	ipa := zipOf(t, entry{"Payload/" + evil + ".app/Info.plist", info, false},
		entry{"Payload/" + evil + ".app/Settings.plist", deepBplist(100, "x"), false})

	for _, c := range []struct {
		name, file string
		b          []byte
		hosts      []string
		shown      []string // escapes that must appear, as text, somewhere in the app
	}{
		{"apk", "evil" + evil + ".apk", apk, []string{"api.evil-planted.net", "cfg.evil-planted.net"},
			[]string{`assets/\x1b]0;pwned\x07\x1b[2J\u009b31m\u202e\u2028\xff.json`, `com.evil\x1b]0;pwned`, `1.0\x1b]0;pwned`,
				`network security config res/xml/\x1b]0;pwned\x07\u202e.xml: base-config cleartextTrafficPermitted=true`, `res/xml/\x1b]0;pwned\x07\x1b[2J\u009b31m\u202e\u2028\xffbroken.xml: binary XML`}},
		{"ipa", evil + ".ipa", ipa, []string{"plist.evil-planted.net"},
			[]string{`Payload/\x1b]0;pwned`, "Api\\x1b]0;pwned\\x07\\x1b[2J\\u009b31m\\u202e\\u2028\uFFFD.Base", "over a safety cap"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			app := readApp(t, c.b, c.file)
			var bad []string
			unsafeStrings(reflect.ValueOf(app), "App", &bad)
			for _, b := range bad {
				t.Error(b)
			}
			all := fmt.Sprintf("%+v", *app)
			for _, w := range c.shown {
				if !strings.Contains(all, w) {
					t.Errorf("no %q in the app:\n%s", w, all)
				}
			}
			for _, h := range c.hosts {
				found := false
				for _, e := range app.Endpoints {
					found = found || e.Host == h
				}
				if !found {
					t.Errorf("endpoint %s not found: %+v", h, app.Endpoints)
				}
			}
			t.Logf("%+v", *app)
		})
	}
}

// TestTextPassTwice: the text pass over its own output changes nothing,
// on a clean app and on the hostile one, so writers may pass what
// extraction gives through redact.Text again. (That it leaves a clean app
// as read is what the exact values of the other tests check.)
func TestTextPassTwice(t *testing.T) {
	clean, _ := plantedAPK(t, false)
	hostile := zipOf(t, entry{"AndroidManifest.xml", plantedManifest("com.evil"+evil, false), false},
		entry{"assets/" + evil + ".txt", []byte("https://api.evil-planted.net/x AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY"), false})
	for name, b := range map[string][]byte{"clean": clean, "hostile": hostile} {
		app := readApp(t, b, name+".apk")
		once := fmt.Sprintf("%+v", *app)
		textPass(app)
		if twice := fmt.Sprintf("%+v", *app); twice != once {
			t.Errorf("%s: a second pass changed the app:\n%s\n%s", name, once, twice)
		}
		if len(app.Endpoints) == 0 {
			t.Errorf("%s: no endpoints", name)
		}
	}
}
