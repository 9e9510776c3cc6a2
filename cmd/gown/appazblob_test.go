package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/testbed"
)

// TestAppProbesPlantedAzureContainer is the whole flow for an Azure Blob
// container an app names: an APK holding two blob URLs of one container
// (https://devstoreaccount1.blob.core.windows.net:PORT/gown-container-public/…,
// a SAS-less URL as apps ship them) and one of the account's root, the
// name mapped by --resolve to loopback, where a TLS front with its own test
// certificate passes requests (Host kept: Azurite reads the account from
// it, as Azure does) to the test bed's azblob-container, a real Azurite.
// gown app must probe the container once, under its path (the root URL
// gives no container target), report it open
// with the planted blobs and the corpus's classes, and send GETs only (the
// front's record and Azurite's own debug log).
func TestAppProbesPlantedAzureContainer(t *testing.T) {
	s := testbed.Require(t, "azblob-container").Get("azblob-container")
	var mu sync.Mutex
	var seen []string
	front := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.RequestURI())
		mu.Unlock()
		httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: s.Addr.String()}).ServeHTTP(w, r)
	}))
	front.StartTLS()
	t.Cleanup(front.Close)
	port := netip.MustParseAddrPort(front.Listener.Addr().String()).Port()
	mark := s.LogSize()
	base := fmt.Sprintf("https://%s:%d", s.Host, port)
	p := writeAPK(t, t.TempDir(), "photos.apk", base+s.Path+"/users/u1001.json", base+s.Path+"/exports/2026-01.csv",
		base+"/", "https://www.google.com/policies")
	var out, errb bytes.Buffer
	// The emulator's account name ties to no app: its party is unknown.
	err := cmdApp(t.Context(), []string{p, "--json", "--allow-private", "--probe-unknown", "--no-dns", "--no-store",
		"--resolve", s.Host + "=127.0.0.1"}, stdio{out: &out, err: &errb})
	if err != nil {
		t.Fatalf("err %v; stderr %s", err, errb.String())
	}
	var got []gown.Result
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r gown.Result
		if json.Unmarshal(sc.Bytes(), &r) == nil && r.Target.Port == int(port) && r.Store == "azblob" {
			got = append(got, r)
		}
	}
	if len(got) != 1 {
		t.Fatalf("%d azblob results, want one for the container: %+v; stderr %s", len(got), got, errb.String())
	}
	r := got[0]
	if r.Status != gown.StatusOpen || r.Target.Host != s.Host || r.Target.Path != s.Path || !r.Target.TLS ||
		r.TLS.Mode != gown.TLSRequired || r.Inventory == nil || r.Inventory.Items != s.Want.Items {
		t.Fatalf("result = %+v; stderr %s", r, errb.String())
	}
	found := map[string]bool{}
	if r.Exposure != nil {
		for _, c := range r.Exposure.Classes {
			if c.Database == s.Want.PIIDatabase {
				found[c.Class] = true
			}
		}
	}
	for _, c := range s.Want.Classes {
		if !found[c] {
			t.Errorf("class %s not found in %s: %+v", c, s.Want.PIIDatabase, r.Exposure)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	// The account's root URL names no container: it is probed as any
	// URL of unknown store is (detection's reads), never as a container.
	listed := false
	for _, q := range seen {
		if !strings.HasPrefix(q, "GET /") {
			t.Errorf("a request that is not a read: %q", q)
		}
		listed = listed || strings.HasPrefix(q, "GET "+s.Path+"?restype=container&comp=list")
	}
	if !listed {
		t.Errorf("the container was never listed: %q", seen)
	}
	time.Sleep(200 * time.Millisecond)
	reqs, err := s.HTTPLog(mark)
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) == 0 || len(seen) == 0 {
		t.Fatalf("Azurite's log shows %d requests, the front %d: the check proves nothing", len(reqs), len(seen))
	}
	for _, q := range reqs {
		if q.Method != "GET" {
			t.Errorf("Azurite's log shows %s", q)
		}
	}
	t.Logf("%s%s: %s, %d blobs; the front saw %d requests, Azurite's log %d, all GET", r.Target.Host, r.Target.Path, r.Status,
		r.Inventory.Items, len(seen), len(reqs))
}
