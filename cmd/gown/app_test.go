package main

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/extract/android/androidtest"
	"github.com/gownscan/gown/internal/testbed"
)

// writeAPK writes a minimal APK whose dex holds the given strings.
func writeAPK(t *testing.T, dir, name string, strs ...string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range []struct {
		name string
		data []byte
	}{
		{"AndroidManifest.xml", androidtest.XML(androidtest.Node{Name: "manifest", Attrs: []androidtest.Attr{{Name: "package", Str: "com.gown." + strings.TrimSuffix(name, ".apk")}},
			Children: []androidtest.Node{{Name: "uses-sdk", Attrs: []androidtest.Attr{{Name: "targetSdkVersion", Type: 0x10, Data: 26, ResID: 0x01010270}}}}})},
		{"classes.dex", androidtest.Dex(strs)},
	} {
		w, err := zw.Create(e.name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(e.data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAppExtractOnlyBatch reads a directory holding a good app, a broken
// one and a non-app: the batch goes on and each gets its report.
func TestAppExtractOnlyBatch(t *testing.T) {
	dir := t.TempDir()
	writeAPK(t, dir, "shop.apk", "http://api.shop-gown.net/v1", "mongodb://root:pw@db.shop-gown.net/app", "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY")
	os.WriteFile(filepath.Join(dir, "broken.apk"), []byte("PK\x03\x04 truncated"), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not an app"), 0o644)
	var out, errb bytes.Buffer
	err := cmdApp(t.Context(), []string{dir, "--extract-only"}, stdio{out: &out, err: &errb})
	if err != nil {
		t.Fatalf("err %v; stderr %s", err, errb.String())
	}
	t.Logf("gown app DIR --extract-only:\n%s", out.String())
	for _, w := range []string{"id=com.gown.shop", "http://api.shop-gown.net/v1", "mongodb://db.shop-gown.net/app",
		"CLEARTEXT allowed by default for targetSdk 26", "CREDENTIAL google-api-key AIza…[REDACTED]",
		"CREDENTIAL conn-string-password", "broken.apk: not an app archive"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output lacks %q", w)
		}
	}
	if strings.Contains(out.String(), "notes.txt") || strings.Contains(out.String(), ":pw@") {
		t.Error("a non-app was read, or a password was printed")
	}
}

func TestAppJSON(t *testing.T) {
	p := writeAPK(t, t.TempDir(), "j.apk", "redis://cache.j-gown.net:6379")
	var out, errb bytes.Buffer
	if err := cmdApp(t.Context(), []string{p, "--extract-only", "--json"}, stdio{out: &out, err: &errb}); err != nil {
		t.Fatal(err)
	}
	var app gown.App
	if err := json.Unmarshal(out.Bytes(), &app); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if len(app.Endpoints) != 1 || app.Endpoints[0].Store != "redis" || app.Endpoints[0].Sources[0].Entry != "classes.dex" {
		t.Errorf("endpoints = %+v", app.Endpoints)
	}
}

func TestAppUsage(t *testing.T) {
	for _, args := range [][]string{{}, {"/nonexistent.apk"}, {"x.apk", "--ports", "0"}} {
		err := cmdApp(t.Context(), args, stdio{out: &bytes.Buffer{}, err: &bytes.Buffer{}})
		if _, ok := err.(usageError); !ok {
			t.Errorf("%q: err = %v, want a usage error", args, err)
		}
	}
}

// TestAppProbesPlantedRedis is the whole flow: an app naming
// redis://cache.shop-gown.net:PORT, the name mapped to a real open Redis on
// loopback, probed because --allow-private says so, and skipped without it.
func TestAppProbesPlantedRedis(t *testing.T) {
	bed := testbed.Require(t, "redis-open")
	ro := bed.Get("redis-open")
	p := writeAPK(t, t.TempDir(), "r.apk", fmt.Sprintf("redis://cache.shop-gown.net:%d/0", ro.Addr.Port()))
	base := []string{p, "--json", "--resolve", "cache.shop-gown.net=" + ro.Addr.Addr().String(), "--source", testbed.Source.String()}

	var out, errb bytes.Buffer
	if err := cmdApp(t.Context(), append(base, "--allow-private"), stdio{out: &out, err: &errb}); err != nil {
		t.Fatalf("err %v; stderr %s", err, errb.String())
	}
	t.Logf("gown app --allow-private:\n%s", out.String())
	found := false
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l struct {
			Target *gown.Target `json:"target"`
			Status string       `json:"status"`
			Store  string       `json:"store"`
		}
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Target != nil && l.Target.Port == int(ro.Addr.Port()) {
			found = l.Status == "open" && l.Store == "redis" && l.Target.Host == "cache.shop-gown.net"
		}
	}
	if !found {
		t.Errorf("no open redis result for the app's host")
	}

	out.Reset()
	errb.Reset()
	if err := cmdApp(t.Context(), base, stdio{out: &out, err: &errb}); err != nil {
		t.Fatalf("err %v; stderr %s", err, errb.String())
	}
	if !strings.Contains(errb.String(), "excluded") || strings.Contains(out.String(), `"status":"open"`) {
		t.Errorf("a private address was probed without --allow-private:\nout %s\nerr %s", out.String(), errb.String())
	}
}
