package redis

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
)

// scanReply is a SCAN page that never ends (cursor "7") with n keys.
func scanReply(n int, key func(int) string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*2\r\n$1\r\n7\r\n*%d\r\n", n)
	for i := range n {
		k := key(i)
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(k), k)
	}
	return b.String()
}

// TestSampleHostileScan: a server whose SCAN cursor never returns to 0 and
// whose keys all differ still costs a bounded number of commands, and the
// engine's caps (K per prefix, collections) hold.
func TestSampleHostileScan(t *testing.T) {
	cases := map[string]func(int) string{
		"one prefix":          func(i int) string { return fmt.Sprintf("user:%d", i) },
		"all prefixes differ": func(i int) string { return fmt.Sprintf("p%d:k", i) },
	}
	for name, key := range cases {
		t.Run(name, func(t *testing.T) {
			tg := fake{replies: map[string]string{
				"SELECT": "+OK\r\n",
				"SCAN":   scanReply(100, key),
				"TYPE":   "+string\r\n",
				"STRLEN": ":23\r\n",
				"GET":    "$23\r\n{\"email\":\"a@b.example\"}\r\n",
			}}.start(t)
			d, err := probe.NewDialer(probe.DialerConfig{IOTimeout: time.Second, MaxRead: 4 << 20})
			if err != nil {
				t.Fatal(err)
			}
			r := &gown.Result{Status: gown.StatusOpen, Inventory: &gown.Inventory{Databases: []gown.Database{{Name: "db0", Items: 1 << 40}}}}
			lim := probe.SampleLimits{PerCollection: 5, Collections: 50, Bytes: 1 << 20, Timeout: 10 * time.Second}
			start := time.Now()
			samples, trunc, err := probe.SampleStore(t.Context(), New(), tg, d, r, lim)
			if err != nil {
				t.Fatalf("sampling failed: %v", err)
			}
			per := map[string]int{}
			for _, s := range samples {
				per[s.Collection]++
				if len(s.Fields) != 1 || s.Fields[0].Path != "email" {
					t.Fatalf("JSON value not flattened: %+v", s.Fields)
				}
			}
			for c, n := range per {
				if n > lim.PerCollection {
					t.Errorf("prefix %q gave %d records", c, n)
				}
			}
			if len(per) > lim.Collections {
				t.Errorf("%d prefixes read, cap %d", len(per), lim.Collections)
			}
			t.Logf("%s: %d records from %d prefixes in %s (truncated %v)", name, len(samples), len(per), time.Since(start).Round(time.Millisecond), trunc)
		})
	}
}

// TestSampleHostileBulk: a server that says a string is short and then
// announces a bulk of 100 MB, or sends a hash of more fields than any
// aggregate may hold, ends sampling with an error at once: nothing of that
// size is allocated or read.
func TestSampleHostileBulk(t *testing.T) {
	cases := map[string]map[string]string{
		"huge bulk": {"SELECT": "+OK\r\n", "SCAN": "*2\r\n$1\r\n0\r\n*1\r\n$6\r\nuser:1\r\n",
			"TYPE": "+string\r\n", "STRLEN": ":10\r\n", "GET": "$104857600\r\n"},
		"huge hash": {"SELECT": "+OK\r\n", "SCAN": "*2\r\n$1\r\n0\r\n*1\r\n$6\r\nuser:1\r\n",
			"TYPE": "+hash\r\n", "HLEN": ":2\r\n", "HGETALL": "*10000000\r\n"},
	}
	for name, replies := range cases {
		t.Run(name, func(t *testing.T) {
			tg := fake{replies: replies}.start(t)
			d, err := probe.NewDialer(probe.DialerConfig{IOTimeout: time.Second, MaxRead: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			r := &gown.Result{Status: gown.StatusOpen, Inventory: &gown.Inventory{Databases: []gown.Database{{Name: "db0", Items: 1}}}}
			start := time.Now()
			samples, _, err := probe.SampleStore(t.Context(), New(), tg, d, r, probe.DefaultSample)
			if !errors.Is(err, gown.ErrReplyTooLarge) || len(samples) != 0 || time.Since(start) > 2*time.Second {
				t.Errorf("%d records, error %v, after %s", len(samples), err, time.Since(start))
			}
		})
	}
}
