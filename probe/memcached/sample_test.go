package memcached

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/probe"
	"github.com/gownscan/gown/probe/flatten"
	"github.com/gownscan/gown/probe/sampletest"
)

// setAll writes key/value pairs over the text protocol, as the test bed
// (never gown) may.
func setAll(t *testing.T, tg gown.Target, kv [][2]string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", tg.Dial(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	for _, x := range kv {
		fmt.Fprintf(c, "set %s 0 0 %d\r\n%s\r\n", x[0], len(x[1]), x[1])
		if line, err := br.ReadString('\n'); err != nil || line != "STORED\r\n" {
			t.Fatalf("set %s: %q %v", x[0], line, err)
		}
	}
}

// corpus is the test bed's people as JSON values under user:<id>, the
// ransom note under its name, and 30 session keys.
func corpus() [][2]string {
	var kv [][2]string
	for _, p := range testbed.People {
		m := map[string]string{}
		for _, f := range p.Fields() {
			m[f[0]] = f[1]
		}
		b, _ := json.Marshal(m)
		kv = append(kv, [2]string{"user:" + p.ID, string(b)})
	}
	for i := range 30 {
		kv = append(kv, [2]string{fmt.Sprintf("session:%d", i), fmt.Sprintf("token-%d", i)})
	}
	return append(kv, [2]string{testbed.RansomName, testbed.RansomMessage})
}

// sentSince lists the text requests the server's -vv log shows after mark.
func sentSince(t *testing.T, s *server, mark int64) []string {
	t.Helper()
	time.Sleep(100 * time.Millisecond) // memcached logs from a worker thread
	b, err := os.ReadFile(s.log)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, msg := range messages(b[mark:]) {
		if !notCommands.MatchString(msg) && !strings.HasPrefix(msg, "0x") {
			out = append(out, msg)
		}
	}
	return out
}

// TestSampleReal samples a real memcached 1.6: every planted person and
// the ransom note are read, no key prefix gives more than K, and the
// server's -vv log shows only the metadump and gets.
func TestSampleReal(t *testing.T) {
	s := startMemcached(t, nil, nil)
	setAll(t, s.target, corpus())
	r := probeReal(t, s)
	mark := logSize(t, s)
	d, err := probe.NewDialer(probe.DialerConfig{IOTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	lim := probe.DefaultSample
	samples, trunc, err := probe.SampleStore(t.Context(), New(), s.target, d, r, lim)
	if err != nil {
		t.Fatal(err)
	}
	per := map[string]int{}
	people, notes := 0, 0
	for _, x := range samples {
		per[x.Collection]++
		for _, p := range testbed.People {
			if x.Key == "user:"+p.ID && sampletest.Has(x, "email", p.Email) && sampletest.Has(x, "card_number", p.Card) {
				people++
			}
		}
		if x.Key == testbed.RansomName && sampletest.Has(x, "value", testbed.RansomMessage) {
			notes++
		}
	}
	want := map[string]int{"": 1, "session": 5, "user": 3}
	if fmt.Sprint(per) != fmt.Sprint(want) || people != len(testbed.People) || notes != 1 || trunc {
		t.Errorf("records per prefix %v (want %v), people %d, notes %d, truncated %v", per, want, people, notes, trunc)
	}
	sent := sentSince(t, s, mark)
	for _, q := range sent {
		if q != "lru_crawler metadump all" && !strings.HasPrefix(q, "get ") {
			t.Errorf("sampling sent %q", q)
		}
	}
	if len(sent) != 2 {
		t.Errorf("server logged %q, want the metadump and one get", sent)
	}
	t.Logf("%d records from %d prefixes (truncated %v); the server logged %d requests: metadump, then get of %d keys",
		len(samples), len(per), trunc, len(sent), len(samples))

	sampletest.TinyByteCap(t, New(), s.target, d, r, lim)
}

// hostileMC answers metadump with an endless stream of keys (each with a
// prefix of its own when spread, else all under one), and every get with
// one VALUE per key requested, of announced bytes.
type hostileMC struct {
	spread   bool
	announce int // bytes announced in each VALUE line
	gets     chan string
}

func (h *hostileMC) start(t *testing.T) gown.Target {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go h.serve(c)
		}
	}()
	ap := netip.MustParseAddrPort(ln.Addr().String())
	return gown.Target{Host: "127.0.0.1", Addr: ap.Addr(), Port: int(ap.Port())}
}

func (h *hostileMC) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil {
		return
	}
	line = strings.TrimSpace(line)
	if line == "lru_crawler metadump all" {
		w := bufio.NewWriter(c)
		for i := 0; ; i++ {
			key := "user:" + fmt.Sprint(i)
			if h.spread {
				key = fmt.Sprintf("p%d:k", i)
			}
			if _, err := fmt.Fprintf(w, "key=%s exp=-1 la=1 cas=%d fetch=no cls=1 size=60\r\n", key, i); err != nil {
				return
			}
		}
	}
	h.gets <- line
	for _, k := range strings.Fields(line)[1:] {
		fmt.Fprintf(c, "VALUE %s 0 %d\r\n", k, h.announce)
		if h.announce > maxSampleValue {
			return // announced, never sent
		}
		fmt.Fprintf(c, "%s\r\n", strings.Repeat("x", h.announce))
	}
	c.Write([]byte("END\r\n"))
}

// TestSampleHostile: a metadump that never ends is read up to its line cap
// (or until every prefix has K keys) and dropped; the gets stay within K
// per prefix and the collection cap; a VALUE announcing more than the value
// cap ends sampling with an error before anything is allocated.
func TestSampleHostile(t *testing.T) {
	lim := probe.SampleLimits{PerCollection: 5, Collections: 10, Bytes: 1 << 20, Timeout: 10 * time.Second}
	d, err := probe.NewDialer(probe.DialerConfig{IOTimeout: 2 * time.Second, MaxRead: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	r := &gown.Result{Status: gown.StatusOpen, Inventory: &gown.Inventory{Items: 1 << 40}}
	for _, tc := range []struct {
		name          string
		h             *hostileMC
		records, keys int
		fail          bool
	}{
		{"endless dump, one prefix", &hostileMC{announce: 20}, lim.PerCollection, lim.PerCollection, false},
		// One key per prefix: the dump is read to its line cap, one key kept
		// per prefix up to one past the collection cap.
		{"endless dump, every key its own prefix", &hostileMC{spread: true, announce: 20}, lim.Collections, lim.Collections + 1, false},
		{"a value over the cap", &hostileMC{announce: 1 << 30}, 0, lim.PerCollection, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.h.gets = make(chan string, 100)
			start := time.Now()
			samples, trunc, err := probe.SampleStore(t.Context(), New(), tc.h.start(t), d, r, lim)
			if (err != nil) != tc.fail {
				t.Fatalf("error %v", err)
			}
			per := map[string]int{}
			for _, x := range samples {
				per[x.Collection]++
				if len(x.Fields) > flatten.MaxFields {
					t.Errorf("%d fields", len(x.Fields))
				}
			}
			for p, n := range per {
				if n > lim.PerCollection {
					t.Errorf("prefix %q gave %d records", p, n)
				}
			}
			close(tc.h.gets)
			keys := 0
			for g := range tc.h.gets {
				keys += len(strings.Fields(g)) - 1
			}
			if len(samples) != tc.records || keys != tc.keys {
				t.Errorf("%d records, %d keys asked for; want %d and %d", len(samples), keys, tc.records, tc.keys)
			}
			t.Logf("%d records from %d prefixes, %d keys asked for, %s (truncated %v, error %v)",
				len(samples), len(per), keys, time.Since(start).Round(time.Millisecond), trunc, err)
		})
	}
}
