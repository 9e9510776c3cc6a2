package extract

import (
	"archive/zip"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"go/build"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gownscan/gown/extract/android/androidtest"
)

// Apps the tests build: every format is written from plain values with
// known endpoints planted in each place extraction reads.

type entry struct {
	name  string
	data  []byte
	store bool // stored, not deflated (as APKs keep resources.arsc)
}

// zipOf writes entries into a zip in memory, in order, duplicates allowed.
func zipOf(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		m := zip.Deflate
		if e.store {
			m = zip.Store
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: m})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// goBinaries caches the cross-built programs: one build per test binary.
var goBinaries sync.Map

// goBinary cross-compiles a tiny Go program holding the planted URL for
// goos/arm64: a real ELF or Mach-O, as the toolchain writes them. The URL
// sits in a JSON config string: Go packs its string data without
// separators, so a bare URL would run on into the next string's bytes (the
// host stays right; the path would not).
func goBinary(t testing.TB, goos, planted string) []byte {
	t.Helper()
	key := goos + "\x00" + planted
	if b, ok := goBinaries.Load(key); ok {
		return b.([]byte)
	}
	goTool, err := goCommand()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("cannot build a test binary: %v", err)
		}
		t.Skipf("cannot build a test binary (set CI=true to fail instead): %v", err)
	}
	dir := t.TempDir()
	src := "package main\n\nvar planted = `{\"api\":\"" + planted + "\"}`\n\nfunc main() { println(planted) }\n"
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module planted\n\ngo 1.22\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "app")
	cmd := exec.Command(goTool, "build", "-trimpath", "-ldflags=-s -w", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH=arm64", "CGO_ENABLED=0", "GOFLAGS=-mod=mod")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build for %s: %v\n%s", goos, err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	goBinaries.Store(key, b)
	return b
}

// goCommand finds the go command: on PATH, where go test puts its own
// first, else in the GOROOT the test binary was built from (a binary built
// with go test -c and run by hand, with a PATH that lacks go).
func goCommand() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	if root := build.Default.GOROOT; root != "" {
		p := filepath.Join(root, "bin", "go")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no go command on PATH nor in GOROOT")
}

// signatureBlock returns a v1 signature block (PKCS#7 SignedData with one
// self-signed certificate) and the certificate's DER.
func signatureBlock(t testing.TB) ([]byte, []byte) {
	return signatureBlockFor(t, pkix.Name{CommonName: "gown planted"})
}

// signatureBlockFor is signatureBlock with a chosen certificate subject.
func signatureBlockFor(t testing.TB, subject pkix.Name) ([]byte, []byte) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: subject,
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	set := asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true}
	sd, err := asn1.Marshal(struct {
		Version int
		Digests asn1.RawValue
		Content struct{ Type asn1.ObjectIdentifier }
		Certs   asn1.RawValue
		Signers asn1.RawValue
	}{1, set, struct{ Type asn1.ObjectIdentifier }{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}},
		asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: der}, set})
	if err != nil {
		t.Fatal(err)
	}
	block, err := asn1.Marshal(struct {
		Type    asn1.ObjectIdentifier
		Content asn1.RawValue
	}{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: sd}})
	if err != nil {
		t.Fatal(err)
	}
	return block, der
}

// Binary XML attribute ids and types used by the planted manifest.
const (
	attrName    = 0x01010003
	attrValue   = 0x01010024
	attrVersion = 0x0101021c
	attrTarget  = 0x01010270
	attrNSC     = 0x01010527
	typeRef     = 0x01
	typeInt     = 0x10
	typeBool    = 0x12
)

// plantedManifest declares the app, a meta-data URL and a network security
// config at resource 0x7f020000 (the second type of plantedTable).
func plantedManifest(pkg string, split bool) []byte {
	attrs := []androidtest.Attr{{Name: "versionName", Str: "1.2.3", ResID: attrVersion}, {Name: "package", Str: pkg}}
	if split {
		attrs = append(attrs, androidtest.Attr{Name: "split", Str: "config.arm64_v8a"})
	}
	return androidtest.XML(androidtest.Node{Name: "manifest", Attrs: attrs, Children: []androidtest.Node{
		{Name: "uses-sdk", Attrs: []androidtest.Attr{{Name: "targetSdkVersion", Type: typeInt, Data: 33, ResID: attrTarget}}},
		{Name: "application", Attrs: []androidtest.Attr{{Name: "networkSecurityConfig", Type: typeRef, Data: 0x7f020000, ResID: attrNSC}},
			Children: []androidtest.Node{{Name: "meta-data", Attrs: []androidtest.Attr{
				{Name: "name", Str: "com.shop.API_URL", ResID: attrName},
				{Name: "value", Str: "https://meta.shop-planted.net/api", ResID: attrValue}}}}},
	}})
}

func plantedTable() []byte {
	return androidtest.Table([]androidtest.Entry{
		{Type: "string", Name: "firebase_database_url", Str: "https://shop-planted-1.firebaseio.com"},
		{Type: "string", Name: "google_api_key", Str: "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY"},
		{Type: "string", Name: "google_storage_bucket", Str: "shop-planted-1.appspot.com"},
		{Type: "string", Name: "support_url", Str: "https://arsc.shop-planted.net/help"},
		{Type: "xml", Name: "network_security_config", Str: "res/xml/network_security_config.xml"},
	})
}

func plantedNSC() []byte {
	return androidtest.XML(androidtest.Node{Name: "network-security-config", Children: []androidtest.Node{
		{Name: "base-config", Attrs: []androidtest.Attr{{Name: "cleartextTrafficPermitted", Type: typeBool, Data: 0}}},
		{Name: "domain-config", Attrs: []androidtest.Attr{{Name: "cleartextTrafficPermitted", Type: typeBool, Data: 1}},
			Children: []androidtest.Node{{Name: "domain", Attrs: []androidtest.Attr{{Name: "includeSubdomains", Type: typeBool, Data: 1}}, Text: "shop-planted.net"}}},
	}})
}

// hermesBlob is a file with the Hermes magic and a string after it, but no
// table Hermes writes: read as printable runs (the fallback).
func hermesBlob(s string) []byte {
	b := []byte("\xc6\x1f\xbc\x03\xc1\x03\x19\x1f\x60\x00\x00\x00")
	b = append(b, make([]byte, 64)...)
	return append(append(b, s...), 0, 0, 0)
}

// gccLib compiles a C shared library with gcc (Debian gcc, installed by
// scripts/install-deps.sh) holding src; nil, and a note, when gcc is
// missing outside CI.
func gccLib(t testing.TB, src string) []byte {
	t.Helper()
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("gcc not installed in CI: %v", err)
		}
		t.Logf("gcc not installed: no native library built")
		return nil
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "lib.c"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "libnative.so")
	if msg, err := exec.Command(gcc, "-shared", "-fPIC", "-O1", "-o", out, filepath.Join(dir, "lib.c")).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
