package main

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"howett.net/plist"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/testbed"
)

// TestAppProbesFirestoreProject is the whole flow for the Firestore
// database of an app's Firebase project: an IPA whose
// GoogleService-Info.plist names PROJECT_ID gown-shop and whose React Native
// bundle names the collection rides (collection(db, "rides")). gown app derives
// https://firestore.googleapis.com/v1/projects/gown-shop/databases/(default)
// (port 443), --resolve maps the name to a loopback address where a TCP
// relay on port 443 passes the bytes to the test bed's
// firestore-standin-open (a labelled STAND-IN replaying the documented REST
// answers, no Firestore: none can run here), which speaks TLS itself. gown
// app must report the database open with the planted collections, the
// app's own rides among them (no common name gown guesses), and the
// stand-in's log must show GETs of the project's collections only.
func TestAppProbesFirestoreProject(t *testing.T) {
	s := testbed.Require(t, "firestore-standin-open").Get("firestore-standin-open")
	var ln net.Listener
	var err error
	for _, a := range []string{"127.0.18.44:443", "127.0.18.45:443", "127.0.18.46:443"} {
		if ln, err = net.Listen("tcp", a); err == nil {
			break
		}
	}
	if err != nil {
		t.Skipf("no loopback address with port 443 free for the relay: %v", err)
	}
	t.Cleanup(func() { ln.Close() })
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				u, err := net.DialTimeout("tcp", s.Addr.String(), 5*time.Second)
				if err != nil {
					return
				}
				defer u.Close()
				go func() { io.Copy(u, c); u.(*net.TCPConn).CloseWrite() }()
				io.Copy(c, u)
			}()
		}
	}()
	relay, _, _ := net.SplitHostPort(ln.Addr().String())

	info, err := plist.Marshal(map[string]any{"CFBundleIdentifier": "com.gownshop.app", "CFBundleShortVersionString": "1.0",
		"CFBundleExecutable": "Shop"}, plist.BinaryFormat)
	if err != nil {
		t.Fatal(err)
	}
	gsi, err := plist.Marshal(map[string]any{"PROJECT_ID": testbed.FirestoreProject, "BUNDLE_ID": "com.gownshop.app"}, plist.XMLFormat)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	// The app's own collection, named only in its React Native bundle.
	bundle := []byte(`const rides = collection(db, "` + testbed.FirestoreAppCollection + `"); export default rides;`)
	for name, data := range map[string][]byte{"Payload/Shop.app/Info.plist": info, "Payload/Shop.app/GoogleService-Info.plist": gsi,
		"Payload/Shop.app/main.jsbundle": bundle} {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "shop.ipa")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	mark := s.LogSize()
	var out, errb bytes.Buffer
	err = cmdApp(t.Context(), []string{p, "--json", "--allow-private", "--no-dns", "--no-store", "--source", testbed.Source.String(),
		"--resolve", testbed.FirestoreHost + "=" + relay}, stdio{out: &out, err: &errb})
	if err != nil {
		t.Fatalf("err %v; stderr %s", err, errb.String())
	}
	var got *gown.Result
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r gown.Result
		if json.Unmarshal(sc.Bytes(), &r) == nil && r.Store == "firestore" {
			got = &r
		}
	}
	if got == nil || got.Status != gown.StatusOpen || got.Target.Host != testbed.FirestoreHost || got.Target.Path != testbed.FirestorePath ||
		got.Target.Port != 443 || got.TLS.Mode != gown.TLSRequired || got.Inventory == nil || got.Inventory.Items != s.Want.Items {
		t.Fatalf("result = %+v; stdout %s; stderr %s", got, out.String(), errb.String())
	}
	rides := false
	for _, db := range got.Inventory.Databases {
		rides = rides || db.Name == testbed.FirestoreAppCollection
	}
	if !rides || !slices.Contains(strings.Split(got.Target.Names, ","), testbed.FirestoreAppCollection) {
		t.Errorf("the app's collection %s: names %v, inventory %+v", testbed.FirestoreAppCollection, got.Target.Names, got.Inventory)
	}
	time.Sleep(100 * time.Millisecond)
	reqs, err := s.HTTPLog(mark)
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) == 0 {
		t.Fatal("the stand-in's log shows nothing from gown app: the check proves nothing")
	}
	for _, q := range reqs {
		if q.Method != "GET" || !strings.HasPrefix(q.Path, testbed.FirestorePath+"/documents/") {
			t.Errorf("the stand-in's log shows %s", q)
		}
	}
	t.Logf("%s%s: %s, %d documents; the stand-in's log: %d requests, all GET of the project's collections", got.Target.Host,
		got.Target.Path, got.Status, got.Inventory.Items, len(reqs))
}
