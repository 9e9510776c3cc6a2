package web_test

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/extract"
	"github.com/gownscan/gown/extract/android/androidtest"
	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/probe"
	"github.com/gownscan/gown/probe/all"
	"github.com/gownscan/gown/scan"
	"github.com/gownscan/gown/store"
	"github.com/gownscan/gown/store/sqlite"
	"github.com/gownscan/gown/web"
)

// tmpRoot holds the fixture stores of this test binary.
var tmpRoot string

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "gown-web-")
	if err != nil {
		panic(err)
	}
	tmpRoot = d
	code := m.Run()
	os.RemoveAll(d)
	os.Exit(code)
}

// bedConfigs are the real servers the fixture scans: open stores holding
// the planted corpus, one that asks for a password, one admin party.
var bedConfigs = []string{"redis-open", "mariadb-open", "postgres-trust", "redis-password", "memcached-open", "couchdb-party"}

// fixture is a results store the real pipeline filled from the test bed,
// built once per test binary: scan 1 of every server and an app read by
// the real extractor; then, between the scans, the bed (never gown) adds
// keys to the open Redis and MariaDB stops; scan 2. The servers are
// stopped once both scans are stored: the pages read only the store.
var fixture struct {
	once sync.Once
	path string
	// fleet is a second store holding a fleet and a fleet scan of it
	// (fleetfixture_test.go), made from scan 1's bed.
	fleet string
	err   error
}

func fixtureDB(t *testing.T) string {
	t.Helper()
	fixture.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), 10*time.Minute)
		defer cancel()
		fixture.path, fixture.err = buildFixture(ctx, t)
	})
	if fixture.err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("fixture: %v", fixture.err)
		}
		t.Skipf("fixture (test bed) unavailable (set CI=true to fail instead): %v", fixture.err)
	}
	return fixture.path
}

func buildFixture(ctx context.Context, t *testing.T) (string, error) {
	bed, err := testbed.Start(ctx, t.Output(), bedConfigs...)
	if err != nil {
		return "", err
	}
	defer bed.Stop()
	path := filepath.Join(tmpRoot, "fixture.db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		return "", err
	}
	defer st.Close()
	var targets []gown.Target
	for _, s := range bed.Servers {
		targets = append(targets, BedTarget(s))
	}
	apk, err := writeAPK(tmpRoot, "shop.apk", "http://api.shop-gown.net/v1", "mongodb://root:s3cret-pw@db.shop-gown.net/app",
		"AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY")
	if err != nil {
		return "", err
	}
	if err := RunScan(ctx, st, targets, apk); err != nil {
		return "", fmt.Errorf("scan 1: %w", err)
	}
	if fixture.fleet, err = buildFleetFixture(ctx, bed); err != nil {
		return "", fmt.Errorf("fleet: %w", err)
	}
	if err := redisDo(ctx, bed.Get("redis-open").Addr.String(), [][]string{{"SELECT", "7"},
		{"SET", "order:1", "paid"}, {"SET", "order:2", "paid"}, {"SET", "order:3", "refunded"}}); err != nil {
		return "", err
	}
	if err := bed.Get("mariadb-open").Stop(); err != nil {
		return "", err
	}
	if err := RunScan(ctx, st, targets, ""); err != nil {
		return "", fmt.Errorf("scan 2: %w", err)
	}
	return path, nil
}

// BedTarget names a test-bed server as a typed target, its store as hint.
func BedTarget(s *testbed.Server) gown.Target {
	a := s.Addr.Addr()
	return gown.Target{Host: a.String(), Addr: a, Port: int(s.Addr.Port()), Hint: s.Kind, Origin: "cli"}
}

// RunScan runs the real pipeline (probe, sample, assess, store) over the
// targets, after reading the app at apk when one is given.
func RunScan(ctx context.Context, st gown.Store, targets []gown.Target, apk string) error {
	cfg := scan.Config{Registry: all.Registry(), Store: st,
		Probe: probe.Config{Workers: 8, Timeout: 20 * time.Second, Sample: probe.DefaultSample,
			Dialer: probe.DialerConfig{Source: testbed.Source}},
		Meta:  gown.ScanMeta{Command: "scan", Args: []string{"--db", "fixture.db", "(test bed)"}, Version: "test"},
		Batch: store.BatchConfig{Max: 16, Every: 50 * time.Millisecond}}
	s, err := scan.Begin(ctx, cfg, nil)
	if err != nil {
		return err
	}
	if apk != "" {
		x, err := extract.New(extract.Config{Catalog: all.Catalog()})
		if err != nil {
			return err
		}
		app, err := x.File(ctx, apk)
		if err != nil {
			return err
		}
		if err := s.AddApp(app); err != nil {
			return err
		}
	}
	_, err = s.Run(ctx, scan.Targets(targets...))
	return err
}

// writeAPK builds an APK whose dex holds strs, as cmd/gown's tests do.
func writeAPK(dir, name string, strs ...string) (string, error) {
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
			return "", err
		}
		w.Write(e.data)
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	p := filepath.Join(dir, name)
	return p, os.WriteFile(p, buf.Bytes(), 0o644)
}

// redisDo sends commands to a test-bed Redis (the bed plants; gown never
// writes) and wants each to succeed.
func redisDo(ctx context.Context, addr string, cmds [][]string) error {
	c, err := testbed.Dialer().DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	for _, args := range cmds {
		var b strings.Builder
		fmt.Fprintf(&b, "*%d\r\n", len(args))
		for _, a := range args {
			fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
		}
		if _, err := c.Write([]byte(b.String())); err != nil {
			return err
		}
		line, err := r.ReadString('\n')
		if err != nil {
			return fmt.Errorf("redis %s: %w", args[0], err)
		}
		if line[0] != '+' && line[0] != ':' {
			return fmt.Errorf("redis %s: %q", args[0], line)
		}
	}
	return nil
}

// serve opens the store at path and serves the dashboard over it on a
// loopback port for the test.
func serve(t testing.TB, path string, cfg web.Config) (*httptest.Server, gown.Store) {
	t.Helper()
	st, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg.Store = st
	if cfg.Version == "" {
		cfg.Version = "test"
	}
	h, err := web.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h) // on 127.0.0.1
	t.Cleanup(srv.Close)
	return srv, st
}
