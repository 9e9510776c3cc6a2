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

// TestAppProbesPlantedBroker is the whole flow for an MQTT broker an app
// names: an APK whose strings hold mqtt://telemetry.fleet-gown.net:PORT, the
// name mapped by --resolve to the test bed's mqtt-open (a real mosquitto
// with planted retained messages and a live location stream), and gown app
// reports it open with the planted topics, the location stream's geo
// class, and nothing but read-side packets in mosquitto's own log.
func TestAppProbesPlantedBroker(t *testing.T) {
	s := testbed.Require(t, "mqtt-open").Get("mqtt-open")
	mark := s.LogSize()
	dir := t.TempDir()
	p := writeAPK(t, dir, "fleet.apk", fmt.Sprintf("mqtt://telemetry.fleet-gown.net:%d", s.Addr.Port()), "https://www.google.com/policies")
	var out, errb bytes.Buffer
	err := cmdApp(t.Context(), []string{p, "--json", "--allow-private", "--no-dns", "--no-store", "--source", testbed.Source.String(),
		"--resolve", "telemetry.fleet-gown.net=" + s.Addr.Addr().String()}, stdio{out: &out, err: &errb})
	if err != nil {
		t.Fatalf("err %v; stderr %s", err, errb.String())
	}
	var got *gown.Result
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r gown.Result
		if json.Unmarshal(sc.Bytes(), &r) == nil && r.Target.Port == int(s.Addr.Port()) {
			got = &r
		}
	}
	if got == nil || got.Store != "mqtt" || got.Status != gown.StatusOpen || got.Target.Host != "telemetry.fleet-gown.net" ||
		got.Inventory == nil || got.Inventory.Items != s.Want.Items {
		t.Fatalf("result = %+v; stdout %s; stderr %s", got, out.String(), errb.String())
	}
	geo := false
	if got.Exposure != nil {
		for _, c := range got.Exposure.Classes {
			geo = geo || (c.Database == "vehicles" && c.Class == "geo")
		}
	}
	if !geo {
		t.Errorf("no geo class in the vehicles' location stream: %+v", got.Exposure)
	}
	time.Sleep(200 * time.Millisecond) // mosquitto logs as it handles
	pkts, err := s.MQTTPackets(mark)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkts) == 0 {
		t.Fatal("mosquitto's log shows nothing from gown app: the check proves nothing")
	}
	for _, p := range pkts {
		switch p.Type {
		case "connection", "CONNECT", "SUBSCRIBE", "PINGREQ", "DISCONNECT":
		default:
			t.Errorf("mosquitto received %s from gown app: %s", p.Type, p.Line)
		}
	}
}

// TestAppProbesPlantedBucket is the whole flow for an S3 bucket an app
// names: an APK holding https://gown-open-bucket.s3.amazonaws.com:PORT/…,
// the name mapped by --resolve to loopback, where a TLS front with its own
// test certificate passes requests (Host kept, so virtual-host style) to
// the test bed's s3-open, a real moto server. gown app must report the
// bucket open with the planted objects and the corpus's classes, having
// sent GETs only (the front's record and moto's own request log).
func TestAppProbesPlantedBucket(t *testing.T) {
	s := testbed.Require(t, "s3-open").Get("s3-open")
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

	p := writeAPK(t, t.TempDir(), "media.apk", fmt.Sprintf("https://%s:%d/users/u1001.json", s.Host, port), "https://www.google.com/policies")
	var out, errb bytes.Buffer
	err := cmdApp(t.Context(), []string{p, "--json", "--allow-private", "--no-dns", "--no-store",
		"--resolve", s.Host + "=127.0.0.1"}, stdio{out: &out, err: &errb})
	if err != nil {
		t.Fatalf("err %v; stderr %s", err, errb.String())
	}
	var got *gown.Result
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r gown.Result
		if json.Unmarshal(sc.Bytes(), &r) == nil && r.Target.Port == int(port) {
			got = &r
		}
	}
	if got == nil || got.Store != "s3" || got.Status != gown.StatusOpen || got.Target.Host != s.Host || !got.Target.TLS ||
		got.TLS.Mode != gown.TLSRequired || got.Inventory == nil || got.Inventory.Items != s.Want.Items {
		t.Fatalf("result = %+v; stdout %s; stderr %s", got, out.String(), errb.String())
	}
	found := map[string]bool{}
	if got.Exposure != nil {
		for _, c := range got.Exposure.Classes {
			if c.Database == s.Want.PIIDatabase {
				found[c.Class] = true
			}
		}
	}
	for _, c := range s.Want.Classes {
		if !found[c] {
			t.Errorf("class %s not found in %s: %+v", c, s.Want.PIIDatabase, got.Exposure)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, q := range seen {
		if !strings.HasPrefix(q, "GET /") {
			t.Errorf("a request that is not a read: %q", q)
		}
	}
	time.Sleep(200 * time.Millisecond)
	reqs, err := s.HTTPLog(mark)
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) == 0 || len(seen) == 0 {
		t.Fatalf("moto's log shows %d requests, the front %d: the check proves nothing", len(reqs), len(seen))
	}
	for _, q := range reqs {
		if q.Method != "GET" {
			t.Errorf("moto's log shows %s", q)
		}
	}
}

// TestAppProbesPlantedFirebaseStorage is the whole flow for a Firebase
// Storage bucket an app names (gown-shop.appspot.com:PORT): gown app probes
// it at its Cloud Storage virtual host, mapped by --resolve to a TLS front
// of the test bed's gcs-open (a real fake-gcs-server), and reports it open
// with the planted objects, GETs only.
func TestAppProbesPlantedFirebaseStorage(t *testing.T) {
	s := testbed.Require(t, "gcs-open").Get("gcs-open")
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
	p := writeAPK(t, t.TempDir(), "storage.apk", fmt.Sprintf("%s:%d", testbed.GCSBucket, port), "https://www.google.com/policies")
	var out, errb bytes.Buffer
	err := cmdApp(t.Context(), []string{p, "--json", "--allow-private", "--no-dns", "--no-store",
		"--resolve", s.Host + "=127.0.0.1"}, stdio{out: &out, err: &errb})
	if err != nil {
		t.Fatalf("err %v; stderr %s", err, errb.String())
	}
	var got *gown.Result
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r gown.Result
		if json.Unmarshal(sc.Bytes(), &r) == nil && r.Target.Port == int(port) {
			got = &r
		}
	}
	if got == nil || got.Store != "gcs" || got.Status != gown.StatusOpen || got.Target.Host != s.Host ||
		got.Inventory == nil || got.Inventory.Items != s.Want.Items {
		t.Fatalf("result = %+v; stdout %s; stderr %s", got, out.String(), errb.String())
	}
	mu.Lock()
	defer mu.Unlock()
	time.Sleep(200 * time.Millisecond)
	reqs, err := s.HTTPLog(mark)
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) == 0 || len(seen) == 0 {
		t.Fatalf("the server's log shows %d requests, the front %d: the check proves nothing", len(reqs), len(seen))
	}
	for _, q := range reqs {
		if q.Method != "GET" {
			t.Errorf("fake-gcs-server's log shows %s", q)
		}
	}
	for _, q := range seen {
		if !strings.HasPrefix(q, "GET /storage/v1/b/") {
			t.Errorf("a request that is not a read of the bucket: %q", q)
		}
	}
}
