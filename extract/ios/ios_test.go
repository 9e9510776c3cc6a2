package ios

import (
	"slices"
	"testing"
)

const infoXML = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0"><dict>
<key>CFBundleIdentifier</key><string>com.example.shop</string>
<key>CFBundleShortVersionString</key><string>3.2</string>
<key>ApiBase</key><string>http://api.shop.example.net/v2</string>
<key>NSAppTransportSecurity</key><dict>
  <key>NSAllowsArbitraryLoads</key><false/>
  <key>NSExceptionDomains</key><dict>
    <key>Legacy.Example.net</key><dict>
      <key>NSIncludesSubdomains</key><true/>
      <key>NSExceptionAllowsInsecureHTTPLoads</key><true/>
    </dict>
  </dict>
</dict>
</dict></plist>`

func TestPlistAndATS(t *testing.T) {
	p, err := ParsePlist([]byte(infoXML))
	if err != nil {
		t.Fatal(err)
	}
	if p.String("CFBundleIdentifier") != "com.example.shop" {
		t.Errorf("id = %q", p.String("CFBundleIdentifier"))
	}
	var got []string
	p.Strings(func(path, s string) bool { got = append(got, path+"="+s); return true })
	if !slices.Contains(got, "ApiBase=http://api.shop.example.net/v2") {
		t.Errorf("strings = %q", got)
	}
	a := ReadATS(p)
	want := []ExceptionDomain{{Domain: "legacy.example.net", Subdomains: true, Insecure: true}}
	if a == nil || a.ArbitraryLoads || !slices.Equal(a.Domains, want) {
		t.Errorf("ats = %+v", a)
	}
	if _, err := ParsePlist([]byte("<plist><dict><key>x")); err == nil {
		t.Error("broken plist accepted")
	}
}

func TestMachOHostile(t *testing.T) {
	for name, b := range map[string][]byte{
		"empty":      nil,
		"magic only": []byte("\xcf\xfa\xed\xfe"),
		// a 64-bit header claiming 0xffffffff load commands of 0xffffffff bytes
		"bogus load commands":      append([]byte("\xcf\xfa\xed\xfe\x0c\x00\x00\x01\x00\x00\x00\x00\x02\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff\x00\x00\x00\x00\x00\x00\x00\x00"), make([]byte, 64)...),
		"fat with huge arch count": []byte("\xca\xfe\xba\xbe\x00\x00\x00\x20\x00\x00\x00\x00"),
	} {
		if _, err := ReadMachO(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// FuzzPlist feeds any bytes to the bounded plist reader. Whatever it
// accepts must decode within the caps (the check and the decoder agree on
// what they read) and yield strings within the byte budget; a stack
// overflow in the decoder would kill the fuzzing process. Seeds, in
// testdata/fuzz/FuzzPlist, include crafted plists past each cap (written by
// TestWriteFuzzSeeds); these two are a valid XML and binary plist.
func FuzzPlist(f *testing.F) {
	f.Add([]byte(infoXML))
	f.Add([]byte("bplist00\xd1\x01\x02Q\x61Q\x62\x08\x0b\x0d\x00\x00\x00\x00\x00\x00\x01\x01\x00\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x0f"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePlist(b)
		if err != nil {
			return
		}
		if depth, values := decodedShape(p.Root); depth > MaxPlistDepth || values > MaxPlistObjects {
			t.Fatalf("accepted a plist %d containers deep with %d values", depth, values)
		}
		n := 0
		p.Strings(func(_, s string) bool { n += len(s); return true })
		if n > p.budget {
			t.Fatalf("yielded %d string bytes, budget %d", n, p.budget)
		}
		ReadATS(p)
	})
}

func FuzzMachO(f *testing.F) {
	f.Add([]byte("\xcf\xfa\xed\xfe\x0c\x00\x00\x01\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		bin, err := ReadMachO(b)
		if err != nil {
			return
		}
		for _, s := range bin.Sections {
			if s.Off < 0 || s.Off+int64(len(s.Data)) > int64(len(b)) {
				t.Fatalf("section %s outside the file", s.Name)
			}
		}
	})
}
