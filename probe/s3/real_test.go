package s3

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/probe"
)

// The real-server tests run moto 5.2.5 in server mode (PyPI) with the test
// bed's two buckets — objects public-read, and objects private under a
// listing — named as apps name them (BUCKET.s3.amazonaws.com, mapped to
// loopback), and check gown's verdict, inventory and samples, virtual-host
// style and path style, and from moto's own request log that gown sent
// GETs only.

func dialer(t *testing.T) probe.Dialer {
	d, err := probe.NewDialer(probe.DialerConfig{Source: testbed.Source})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestRealMoto(t *testing.T) {
	bed := testbed.Require(t, testbed.NamesOf("s3")...)
	for _, s := range bed.Servers {
		for _, style := range []string{"virtual-host", "path"} {
			t.Run(s.Name+"/"+style, func(t *testing.T) {
				a := s.Addr.Addr()
				tg := gown.Target{Host: s.Host, Addr: a, Port: int(s.Addr.Port()), Hint: "s3", Origin: "test"}
				if style == "path" {
					// An S3-compatible endpoint's name: moto routes it by
					// path, answers the virtual-host listing with every
					// bucket, and gown must fall back to path style.
					b, _ := Bucket(s.Host)
					tg.Host = b + "." + testbed.S3PathHost
				}
				mark := s.LogSize()
				ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
				defer cancel()
				r, err := New().Probe(ctx, tg, dialer(t))
				if r == nil {
					t.Fatalf("no result: %v", err)
				}
				if r.Status != s.Want.Status || r.Error != "" || r.Details["style"] != style {
					t.Fatalf("status %s (%s) style %s, error %q; planted %s", r.Status, r.Reason, r.Details["style"], r.Error, s.Want.Status)
				}
				inv := r.Inventory
				if inv == nil || inv.Items != s.Want.Items || inv.Bytes == 0 {
					t.Fatalf("inventory %+v, planted %d", inv, s.Want.Items)
				}
				for _, db := range inv.Databases {
					if db.Items != s.Want.Databases[db.Name] {
						t.Errorf("%s: %d objects per gown, %d planted", db.Name, db.Items, s.Want.Databases[db.Name])
					}
				}
				samples, _, err := probe.SampleStore(t.Context(), New(), tg, dialer(t), r, probe.DefaultSample)
				if err != nil {
					t.Fatal(err)
				}
				per := map[string]int{}
				for _, x := range samples {
					per[x.Database]++
				}
				public := len(s.Want.Classes) > 0
				if public && (per["users"] != 3 || per["exports"] != 5 || per[testbed.RansomName] != 1) || !public && len(samples) != 0 {
					t.Errorf("samples per database %v (public objects %t)", per, public)
				}
				time.Sleep(200 * time.Millisecond)
				reqs, err := s.HTTPLog(mark)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, q := range reqs {
					if q.Method != "GET" || q.Client != testbed.Source.String() {
						t.Errorf("moto's log shows %s from %s", q, q.Client)
					}
					got = append(got, q.Method)
				}
				if len(reqs) == 0 {
					t.Fatal("moto's log shows nothing from the scan: the check proves nothing")
				}
				t.Logf("%s %s: %s — %d objects, %d sampled; moto's log: %d requests, methods %v", s.Name, style, r.Status,
					inv.Items, len(samples), len(reqs), slices.Compact(got))
			})
		}
	}
}
