package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/gownscan/gown/internal/testbed"
)

// redisReadOnly are the commands a read-only Redis probe may send.
var redisReadOnly = map[string]bool{"INFO": true, "PING": true, "DBSIZE": true, "SCAN": true, "TYPE": true, "GET": true,
	"GETRANGE": true, "STRLEN": true, "HSCAN": true, "HLEN": true, "LRANGE": true, "LLEN": true, "SSCAN": true, "SCARD": true,
	"ZRANGE": true, "ZCARD": true, "ZSCAN": true, "XRANGE": true, "XLEN": true, "SELECT": true, "HGETALL": true, "SMEMBERS": true,
	"MEMORY": true, "OBJECT": true, "TTL": true, "PTTL": true, "HELLO": true, "CLIENT": true, "EXISTS": true}

// TestAppProbeUnknown: an app (com.gown.u) naming a Redis on a host tied
// neither to its identity nor to a known third party. The host is reported
// with party "unknown" and not probed: the real Redis it resolves to sees
// no command from gown. With --probe-unknown it is probed, read-only, and
// found open (the server's MONITOR shows what gown sent).
func TestAppProbeUnknown(t *testing.T) {
	bed := testbed.Require(t, "redis-open")
	ro := bed.Get("redis-open")
	const host = "cache.stranger-store.net"
	p := writeAPK(t, t.TempDir(), "u.apk", fmt.Sprintf("redis://%s:%d/0", host, ro.Addr.Port()))
	base := []string{p, "--resolve", host + "=" + ro.Addr.Addr().String(), "--source", testbed.Source.String(), "--allow-private", "--no-store"}
	gownSent := func(run func()) []string {
		mon, err := ro.Monitor(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		run()
		var sent []string
		for _, e := range mon.Entries() {
			if strings.HasPrefix(e.Client, testbed.Source.String()+":") {
				sent = append(sent, e.String())
			}
		}
		return sent
	}

	var out, errb bytes.Buffer
	sent := gownSent(func() {
		if err := cmdApp(t.Context(), base, stdio{out: &out, err: &errb}); err != nil {
			t.Fatalf("err %v; stderr %s", err, errb.String())
		}
	})
	t.Logf("gown app (no --probe-unknown):\n%s%s", out.String(), errb.String())
	if !strings.Contains(out.String(), "unknown  0.95  redis://"+host) || !strings.Contains(errb.String(), "1 endpoint(s) of unknown party") {
		t.Errorf("the unknown endpoint and the note are not shown")
	}
	if len(sent) > 0 || strings.Contains(out.String(), "open") {
		t.Errorf("an unknown host was probed without --probe-unknown: %q", sent)
	}

	out.Reset()
	errb.Reset()
	sent = gownSent(func() {
		if err := cmdApp(t.Context(), append(base, "--probe-unknown"), stdio{out: &out, err: &errb}); err != nil {
			t.Fatalf("err %v; stderr %s", err, errb.String())
		}
	})
	t.Logf("gown app --probe-unknown:\n%s%s\nsent: %q", out.String(), errb.String(), sent)
	if len(sent) == 0 || !strings.Contains(out.String(), "open") {
		t.Errorf("--probe-unknown did not probe the unknown host")
	}
	for _, cmd := range sent {
		if verb := strings.ToUpper(strings.Fields(cmd + " x")[0]); !redisReadOnly[verb] {
			t.Errorf("gown sent %q to the server", cmd)
		}
	}
}
