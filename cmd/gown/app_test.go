package main

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

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

// TestAppProbesPlantedFirebase is the whole flow for a Realtime Database:
// an app whose string resources name https://gown-shop.firebaseio.com:PORT,
// the name mapped by --resolve to loopback, where a real firebase-server
// (npm) answers behind a TLS front (an app's database URL is https; the
// prober speaks TLS to it as it would to Google), and gown app reports it
// open, probed by the firebase prober with GETs only.
func TestAppProbesPlantedFirebase(t *testing.T) {
	backend, keys := firebaseBackend(t)
	var mu sync.Mutex
	var seen []string
	front := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.RequestURI())
		mu.Unlock()
		httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: backend.String()}).ServeHTTP(w, r)
	}))
	front.StartTLS()
	t.Cleanup(front.Close)
	port := netip.MustParseAddrPort(front.Listener.Addr().String()).Port()

	dir := t.TempDir()
	p := writeAPK(t, dir, "fb.apk", fmt.Sprintf("https://gown-shop.firebaseio.com:%d", port), "https://www.google.com/policies")
	var out, errb bytes.Buffer
	err := cmdApp(t.Context(), []string{p, "--json", "--allow-private", "--no-dns", "--resolve", "gown-shop.firebaseio.com=127.0.0.1"},
		stdio{out: &out, err: &errb})
	if err != nil {
		t.Fatalf("err %v; stderr %s", err, errb.String())
	}
	t.Logf("gown app --allow-private (firebase):\n%s", out.String())
	var got *gown.Result
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r gown.Result
		if json.Unmarshal(sc.Bytes(), &r) == nil && r.Target.Port == int(port) {
			got = &r
		}
	}
	if got == nil || got.Store != "firebase" || got.Status != gown.StatusOpen || got.Target.Hint != "firebase" ||
		got.Target.Host != "gown-shop.firebaseio.com" || got.Inventory == nil || got.Inventory.Items != keys {
		t.Fatalf("result = %+v; stderr %s", got, errb.String())
	}
	mu.Lock()
	defer mu.Unlock()
	// The probe's one GET, then (sampling being on) bounded GETs of the
	// top-level keys: reads only.
	if len(seen) == 0 || seen[0] != "GET /.json?shallow=true" {
		t.Errorf("requests through the front: %q, want the probe's GET first", seen)
	}
	for _, q := range seen {
		if !strings.HasPrefix(q, "GET /") {
			t.Errorf("a request that is not a read: %q", q)
		}
	}
}

// firebaseBackend returns the address of a real firebase-server and the
// number of top-level keys it holds: the test bed's firebase-open when the
// test bed has it, or else one started here the way probe/firebase's tests
// start it.
func firebaseBackend(t *testing.T) (netip.AddrPort, uint64) {
	t.Helper()
	if slices.Contains(testbed.Names(), "firebase-open") {
		s := testbed.Require(t, "firebase-open").Get("firebase-open")
		return s.Addr, s.Want.Items
	}
	unavailable := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf("firebase-server is required in CI: "+format, args...)
		}
		t.Skipf("firebase-server unavailable: "+format, args...)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		unavailable("%v", err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		unavailable("%v", err)
	}
	dir := filepath.Join(cache, "gown-testbed", "firebase")
	bin := filepath.Join(dir, "node_modules", "firebase-server", "bin", "firebase-server.js")
	if _, err := os.Stat(bin); err != nil {
		npm, lerr := exec.LookPath("npm")
		if lerr != nil {
			unavailable("%v", lerr)
		}
		os.MkdirAll(dir, 0o755)
		cmd := exec.CommandContext(t.Context(), npm, "install", "--prefix", dir, "--ignore-scripts", "--no-audit", "--no-fund",
			"firebase-server@1.1.0", "firebase@7.24.0")
		if msg, err := cmd.CombinedOutput(); err != nil {
			unavailable("npm install: %v\n%s", err, msg)
		}
	}
	data := filepath.Join(t.TempDir(), "data.json")
	os.WriteFile(data, []byte(`{"users":{"u1":{"name":"Ann"}},"orders":{"o1":{"total":3}}}`), 0o600)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := netip.MustParseAddrPort(ln.Addr().String())
	ln.Close()
	cmd := exec.Command(node, bin, "-e", "-a", "127.0.0.1", "-p", strconv.Itoa(int(addr.Port())), "-f", data) // -e: the REST API
	cmd.Env = append(os.Environ(), "NO_UPDATE_NOTIFIER=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		unavailable("start: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	c := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := c.Get("http://" + addr.String() + "/.json")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr, 2
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("firebase-server did not answer on %s: %v", addr, err)
		}
	}
}
