package etcd

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/probe"
)

// The real-server tests run Debian's etcd 3.4 in the test bed's two
// configurations (no auth; auth enabled with a root user) and check gown's
// verdicts, its inventory against the planted keys, the classes sampling
// finds, and, from etcd's own debug log and write counters, that gown sent
// nothing but v3 Range and Status requests.

func dialer(t *testing.T) probe.Dialer {
	d, err := probe.NewDialer(probe.DialerConfig{Source: testbed.Source})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func target(s *testbed.Server) gown.Target {
	a := s.Addr.Addr()
	return gown.Target{Host: a.String(), Addr: a, Port: int(s.Addr.Port()), Origin: "test"}
}

func TestRealEtcd(t *testing.T) {
	bed := testbed.Require(t, testbed.NamesOf("etcd")...)
	for _, s := range bed.Servers {
		t.Run(s.Name, func(t *testing.T) {
			writes, err := s.EtcdWrites(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			mark := s.LogSize()
			ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
			defer cancel()
			r, err := New().Probe(ctx, target(s), dialer(t))
			if r == nil {
				t.Fatalf("no result: %v", err)
			}
			if r.Status != s.Want.Status || r.Error != "" || r.Product != "etcd" || r.Version == "" {
				t.Fatalf("status %s (%s) %s %s, error %q; planted %s", r.Status, r.Reason, r.Product, r.Version, r.Error, s.Want.Status)
			}
			if r.TLS.Mode != s.Want.TLS {
				t.Errorf("TLS %s, planted %s", r.TLS.Mode, s.Want.TLS)
			}
			t.Logf("%s: %s %s — %s; details %v", s.Name, r.Product, r.Status, r.Reason, r.Details)
			if s.Want.Status == gown.StatusOpen {
				checkOpen(t, s, r)
			}
			time.Sleep(200 * time.Millisecond)
			reqs, err := s.EtcdRequests(mark)
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range reqs {
				if q != "/etcdserverpb.KV/Range" && q != "/etcdserverpb.Maintenance/Status" {
					t.Errorf("etcd's log shows %s from the scan", q)
				}
			}
			after, err := s.EtcdWrites(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if after != writes {
				t.Errorf("etcd counts %d writes before the scan, %d after", writes, after)
			}
			if s.Want.Status == gown.StatusOpen && len(reqs) == 0 {
				t.Fatal("etcd's log shows nothing from the scan: the check proves nothing")
			}
			slices.Sort(reqs)
			t.Logf("%s: etcd's debug log, from gown: %d requests %v; write counters %d before and after", s.Name, len(reqs), slices.Compact(reqs), after)
		})
	}
}

// checkOpen compares the inventory with the planted keys and samples.
func checkOpen(t *testing.T, s *testbed.Server, r *gown.Result) {
	inv := r.Inventory
	if inv == nil || inv.Items != s.Want.Items || inv.Truncated || inv.Bytes == 0 {
		t.Fatalf("inventory %+v, planted %d keys", inv, s.Want.Items)
	}
	for _, db := range inv.Databases {
		if db.Items != s.Want.Databases[db.Name] {
			t.Errorf("%s: %d keys per gown, %d planted", db.Name, db.Items, s.Want.Databases[db.Name])
		}
	}
	samples, _, err := probe.SampleStore(t.Context(), New(), target(s), dialer(t), r, probe.DefaultSample)
	if err != nil {
		t.Fatal(err)
	}
	per := map[string]int{}
	for _, x := range samples {
		per[x.Database]++
	}
	if per["users"] != 3 || per["config"] != 5 || per["devices"] != 5 || per[testbed.RansomName] != 1 {
		t.Errorf("samples per database %v", per)
	}
}
