package android

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/gownscan/gown/extract/android/androidtest"
)

func dexAll(t *testing.T, b []byte) []string {
	t.Helper()
	var out []string
	if err := DexStrings(b, func(_ int, s []byte) bool { out = append(out, string(s)); return true }); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDexStrings(t *testing.T) {
	want := []string{"Lcom/example/Api;", "https://api.example.net/v1", "héllo wörld", "日本語"}
	if got := dexAll(t, androidtest.Dex(want)); !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestDexMUTF8(t *testing.T) {
	// U+1F600 as a CESU-8 surrogate pair, and NUL as C0 80.
	raw := []byte{0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80, 'a', 0xc0, 0x80, 'b'}
	if got := mutf8(raw); got != "😀a\x00b" {
		t.Fatalf("mutf8 = %q", got)
	}
	// A lone surrogate, high or low, and a cut sequence become U+FFFD.
	for in, want := range map[string]string{"\xed\xa0\xbdx": "\ufffdx", "x\xed\xb8\x80": "x\ufffd", "a\xe2\x82": "a\ufffd\ufffd"} {
		if got := mutf8([]byte(in)); got != want {
			t.Errorf("mutf8(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDexHostile(t *testing.T) {
	good := androidtest.Dex([]string{"x"})
	huge := slices.Clone(good)
	binary.LittleEndian.PutUint32(huge[56:], 0xffffffff) // four billion strings
	outside := slices.Clone(good)
	binary.LittleEndian.PutUint32(outside[0x70:], 0x7fffffff) // string data past the end
	noNUL := androidtest.Dex([]string{"abc"})
	noNUL = noNUL[:len(noNUL)-1]
	for name, b := range map[string][]byte{"huge count": huge, "offset outside": outside, "no NUL": noNUL,
		"short": good[:20], "not dex": []byte("PK\x03\x04 and more bytes than a header needs..........................................................................................")} {
		err := DexStrings(b, func(int, []byte) bool { return true })
		if !errors.Is(err, ErrFormat) {
			t.Errorf("%s: err = %v, want ErrFormat", name, err)
		}
	}
}

func manifestDoc() []byte {
	return androidtest.XML(androidtest.Node{Name: "manifest", Attrs: []androidtest.Attr{
		{Name: "package", Str: "com.example.shop"},
		{Name: "versionName", Str: "2.1", ResID: 0x0101021c},
	}, Children: []androidtest.Node{
		{Name: "uses-sdk", Attrs: []androidtest.Attr{{Name: "targetSdkVersion", Type: TypeIntDec, Data: 26, ResID: 0x01010270}}},
		{Name: "application", Attrs: []androidtest.Attr{
			{Name: "usesCleartextTraffic", Type: TypeBool, Data: 0xffffffff, ResID: 0x010104ec},
			{Name: "networkSecurityConfig", Type: TypeReference, Data: 0x7f020000, ResID: 0x01010527},
		}, Children: []androidtest.Node{
			{Name: "meta-data", Attrs: []androidtest.Attr{{Name: "name", Str: "api.base", ResID: 0x01010003}, {Name: "value", Str: "https://api.shop.example.net", ResID: 0x01010024}}},
		}},
	}})
}

func TestManifest(t *testing.T) {
	x, err := ParseXML(manifestDoc())
	if err != nil {
		t.Fatal(err)
	}
	m := ReadManifest(x)
	if m.Package != "com.example.shop" || m.VersionName != "2.1" || m.TargetSDK != 26 {
		t.Errorf("identity: %+v", m)
	}
	if m.Cleartext == nil || !*m.Cleartext || m.NetworkSecurityConfig != 0x7f020000 {
		t.Errorf("cleartext: %v, nsc %#x", m.Cleartext, m.NetworkSecurityConfig)
	}
	if len(m.MetaData) != 1 || m.MetaData[0].Name != "api.base" || m.MetaData[0].Value != "https://api.shop.example.net" {
		t.Errorf("meta-data: %+v", m.MetaData)
	}
}

func TestNetworkSecurity(t *testing.T) {
	tr := androidtest.Attr{Name: "cleartextTrafficPermitted", Type: TypeBool, Data: 1}
	doc := androidtest.XML(androidtest.Node{Name: "network-security-config", Children: []androidtest.Node{
		{Name: "base-config", Attrs: []androidtest.Attr{{Name: "cleartextTrafficPermitted", Type: TypeBool, Data: 0}}},
		{Name: "domain-config", Attrs: []androidtest.Attr{tr}, Children: []androidtest.Node{
			{Name: "domain", Attrs: []androidtest.Attr{{Name: "includeSubdomains", Type: TypeBool, Data: 1}}, Text: "Legacy.example.net"},
		}},
	}})
	x, err := ParseXML(doc)
	if err != nil {
		t.Fatal(err)
	}
	ns := ReadNetworkSecurity(x)
	if ns.Base == nil || *ns.Base {
		t.Errorf("base = %v, want false", ns.Base)
	}
	want := []DomainRule{{Domain: "legacy.example.net", Subdomains: true, Cleartext: true}}
	if !slices.Equal(ns.Domains, want) {
		t.Errorf("domains = %+v, want %+v", ns.Domains, want)
	}
}

func TestTable(t *testing.T) {
	b := androidtest.Table([]androidtest.Entry{
		{Type: "string", Name: "firebase_database_url", Str: "https://shop-1.firebaseio.com"},
		{Type: "xml", Name: "network_security_config", Str: "res/xml/network_security_config.xml"},
		{Type: "string", Name: "alias", Ref: 0x7f010000},
	})
	tb, err := ParseTable(b)
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := tb.String(0x7f020000); !ok || s != "res/xml/network_security_config.xml" {
		t.Errorf("xml/0 = %q %v", s, ok)
	}
	if s, ok := tb.String(0x7f010001); !ok || s != "https://shop-1.firebaseio.com" {
		t.Errorf("reference = %q %v", s, ok)
	}
	if tb.Names[0] != "string/firebase_database_url" {
		t.Errorf("names = %v", tb.Names)
	}
	if _, ok := tb.String(0x7f990000); ok {
		t.Error("unknown id resolved")
	}
}

func TestHostileResources(t *testing.T) {
	doc := manifestDoc()
	for i := 8; i < len(doc); i += 7 { // a size field cut at every point
		if _, err := ParseXML(doc[:i]); err == nil && i < len(doc) {
			_ = err // a prefix may still parse if it ends on a chunk boundary; what matters is no panic
		}
	}
	bad := slices.Clone(doc)
	binary.LittleEndian.PutUint32(bad[4:], 0xfffffff0)
	if _, err := ParseXML(bad); !errors.Is(err, ErrFormat) {
		t.Errorf("huge chunk size: err = %v", err)
	}
	if _, err := ParseTable([]byte{2, 0, 12, 0, 0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0}); !errors.Is(err, ErrFormat) {
		t.Errorf("huge table: err = %v", err)
	}
}

func TestSignerDigest(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gown test"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	block := pkcs7(t, der)
	got, err := SignerDigest(block)
	sum := sha256.Sum256(der)
	if err != nil || got != hex.EncodeToString(sum[:]) {
		t.Fatalf("digest = %s, %v", got, err)
	}
	if _, err := SignerDigest([]byte("garbage")); err == nil {
		t.Error("garbage accepted")
	}
}

// pkcs7 wraps a certificate in the SignedData shape of a v1 signature block.
func pkcs7(t *testing.T, cert []byte) []byte {
	t.Helper()
	type signedData struct {
		Version int
		Digests asn1.RawValue
		Content struct{ Type asn1.ObjectIdentifier }
		Certs   asn1.RawValue `asn1:"tag:0"`
		Signers asn1.RawValue
	}
	empty := asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true}
	sd := signedData{Version: 1, Digests: empty, Signers: empty,
		Certs: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: cert}}
	sd.Content.Type = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	inner, err := asn1.Marshal(sd)
	if err != nil {
		t.Fatal(err)
	}
	out, err := asn1.Marshal(struct {
		Type    asn1.ObjectIdentifier
		Content asn1.RawValue
	}{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: inner}})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestProtoManifest(t *testing.T) {
	b := protoManifestDoc()
	x, err := ParseProtoXML(b)
	if err != nil {
		t.Fatal(err)
	}
	m := ReadManifest(x)
	if m.Package != "com.example.bundle" || m.VersionName != "7.0" || m.TargetSDK != 34 || m.NetworkSecurityConfig != 0x7f150001 ||
		m.Cleartext == nil || !*m.Cleartext || len(m.MetaData) != 1 || m.MetaData[0].Value != "https://meta.bundle.example.net" {
		t.Errorf("manifest = %+v", m)
	}
	if _, err := ParseProtoXML([]byte{0x0a, 0xff}); err == nil {
		t.Error("truncated message accepted")
	}
}

func protoTableDoc() []byte {
	return androidtest.ProtoTable([]androidtest.ProtoEntry{
		{Type: "string", Name: "firebase_database_url", Str: "https://bundle-1.firebaseio.com", Configs: []string{"https://bundle-fr.firebaseio.com"}},
		{Type: "string", Name: "api_alias", Ref: 0x7f010000},
		{Type: "xml", Name: "network_security_config", Str: "res/xml/network_security_config.xml"},
		{Type: "array", Name: "servers", Array: []string{"redis://a.bundle.example.net", "mongodb://b.bundle.example.net"}},
		{Type: "plurals", Name: "items", Array: []string{"one item", "%d items"}},
	})
}

func TestProtoTable(t *testing.T) {
	tb, err := ParseProtoTable(protoTableDoc())
	if err != nil {
		t.Fatal(err)
	}
	var strs []string
	names := map[string]string{}
	for i := range tb.Len() {
		s, off := tb.Get(i)
		if doc := protoTableDoc(); off <= 0 || string(doc[off:off+len(s)]) != s {
			t.Errorf("string %q at offset %d", s, off)
		}
		strs = append(strs, s)
		names[s] = tb.Names[uint32(i)]
	}
	want := []string{"https://bundle-1.firebaseio.com", "https://bundle-fr.firebaseio.com", "res/xml/network_security_config.xml",
		"redis://a.bundle.example.net", "mongodb://b.bundle.example.net", "one item", "%d items"}
	if !slices.Equal(strs, want) {
		t.Errorf("strings %q, want %q", strs, want)
	}
	if names["https://bundle-fr.firebaseio.com"] != "string/firebase_database_url" || names["redis://a.bundle.example.net"] != "array/servers" {
		t.Errorf("names %v", names)
	}
	for id, w := range map[uint32]string{
		0x7f010000: "https://bundle-1.firebaseio.com",     // the first configuration's value
		0x7f010001: "https://bundle-1.firebaseio.com",     // through the reference
		0x7f020000: "res/xml/network_security_config.xml", // a file reference
	} {
		if got, ok := tb.String(id); !ok || got != w {
			t.Errorf("String(%#x) = %q %v, want %q", id, got, ok, w)
		}
	}
	if _, ok := tb.String(0x7f030000); ok {
		t.Error("an array resolved as a string")
	}
}

func TestProtoTableHostile(t *testing.T) {
	good := protoTableDoc()
	for name, b := range map[string][]byte{
		"truncated":      good[:len(good)-3],
		"bad tag":        append([]byte{0x07}, good...),
		"length past":    {0x12, 0xff, 0xff, 0xff, 0x0f, 0x0a},
		"self reference": androidtest.ProtoTable([]androidtest.ProtoEntry{{Type: "string", Name: "loop", Ref: 0x7f010000}}),
	} {
		tb, err := ParseProtoTable(b)
		if tb == nil {
			t.Fatalf("%s: nil table", name)
		}
		if name != "self reference" && !errors.Is(err, ErrFormat) {
			t.Errorf("%s: err = %v, want ErrFormat", name, err)
		}
		if _, ok := tb.String(0x7f010000); ok {
			t.Errorf("%s: a reference cycle or broken table resolved", name)
		}
	}
}

// DexStringsFrom gives what DexStrings gives, however the stream is cut
// into reads, for files in table order and out of it, with strings longer
// than its window and strings it cannot read.
func TestDexStringsFromIsDexStrings(t *testing.T) {
	long := strings.Repeat("https://long.example.net/", 12000) // 300 KB, past the window's reads
	ordered := androidtest.Dex([]string{"Lcom/a;", long, "https://api.example.net", "日本語"})
	swapped := slices.Clone(ordered) // ids 0 and 2 trade items: out of order
	a, c := binary.LittleEndian.Uint32(swapped[0x70:]), binary.LittleEndian.Uint32(swapped[0x78:])
	binary.LittleEndian.PutUint32(swapped[0x70:], c)
	binary.LittleEndian.PutUint32(swapped[0x78:], a)
	inIDs := slices.Clone(ordered) // string 0 inside the id table
	binary.LittleEndian.PutUint32(inIDs[0x70:], 0x71)
	past := slices.Clone(ordered) // the last string past the end
	binary.LittleEndian.PutUint32(past[0x70+12:], uint32(len(past)+10))
	for name, b := range map[string][]byte{"ordered": ordered, "swapped": swapped, "in ids": inIDs, "past end": past} {
		want, wantErr := dexList(b, func(y func(int, []byte) bool) error { return DexStrings(b, y) })
		for how, r := range cutReaders(b) {
			got, err := dexList(b, func(y func(int, []byte) bool) error { return DexStringsFrom(r, len(b), y) })
			if !slices.Equal(got, want) || (err == nil) != (wantErr == nil) {
				t.Errorf("%s read %s: %d strings (err %v), DexStrings %d (err %v)", name, how, len(got), err, len(want), wantErr)
			}
		}
	}
	if _, err := dexList(ordered, func(y func(int, []byte) bool) error { return DexStrings(ordered, y) }); err != nil {
		t.Fatal(err)
	}
	// A stream that ends early is an error that says so.
	_, err := dexList(ordered, func(y func(int, []byte) bool) error {
		return DexStringsFrom(bytes.NewReader(ordered[:len(ordered)/2]), len(ordered), y)
	})
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short stream: err = %v, want io.ErrUnexpectedEOF", err)
	}
}

// cutReaders gives b through readers that cut it differently: a byte at a
// time, half of each read asked for, with the last bytes and io.EOF
// together, and whole.
func cutReaders(b []byte) map[string]io.Reader {
	return map[string]io.Reader{
		"a byte at a time": iotest.OneByteReader(bytes.NewReader(b)),
		"by halves":        iotest.HalfReader(bytes.NewReader(b)),
		"EOF with data":    iotest.DataErrReader(bytes.NewReader(b)),
		"whole":            bytes.NewReader(b),
	}
}

func dexList(b []byte, read func(func(int, []byte) bool) error) ([]string, error) {
	var out []string
	err := read(func(off int, s []byte) bool {
		out = append(out, strconv.Itoa(off)+" "+string(s))
		return true
	})
	return out, err
}

// A streamed dex is never held whole: reading an 11 MB table allocates its
// ids and a window, not the file.
func TestDexStringsFromHoldsAWindow(t *testing.T) {
	strs := make([]string, 300000)
	for i := range strs {
		strs[i] = fmt.Sprintf("Lcom/shop/filler/Class%06d;", i)
	}
	b := androidtest.Dex(strs)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	n := 0
	err := DexStringsFrom(bytes.NewReader(b), len(b), func(int, []byte) bool { n++; return true })
	runtime.ReadMemStats(&after)
	if err != nil || n != len(strs) {
		t.Fatalf("%d strings, err %v", n, err)
	}
	ids := 4 * len(strs)
	if got := after.TotalAlloc - before.TotalAlloc; got > uint64(ids+256<<10) {
		t.Errorf("allocated %d bytes reading a %d-byte dex; want at most the %d bytes of ids and 256 KiB", got, len(b), ids)
	}
}
