package azblob

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/probe"
	"github.com/gownscan/gown/probe/probetest"
)

// The real-server tests run Azurite 3.37.0 (npm) with one container per
// public access level — container, blob, private — named as apps name it
// (devstoreaccount1.blob.core.windows.net/CONTAINER, mapped to loopback),
// and check gown's verdict, inventory and samples against what was
// planted, then read Azurite's own --debug log: only GETs, only from
// gown's source address. Path style (http://ADDR/devstoreaccount1/C) is
// checked on the open container too.

func TestRealAzurite(t *testing.T) {
	bed := testbed.Require(t, testbed.NamesOf("azblob")...)
	for _, s := range bed.Servers {
		for _, style := range []string{"virtual-host", "path"} {
			t.Run(s.Name+"/"+style, func(t *testing.T) {
				a := s.Addr.Addr()
				tg := gown.Target{Host: s.Host, Addr: a, Port: int(s.Addr.Port()), Hint: "azblob", Path: s.Path, Origin: "test"}
				if style == "path" {
					tg.Host, tg.Path = a.String(), "/"+testbed.AzureAccount+s.Path
				}
				mark := s.LogSize()
				ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
				defer cancel()
				d := probetest.Dialer(t)
				r, err := New().Probe(ctx, tg, d)
				if r == nil {
					t.Fatalf("no result: %v", err)
				}
				if r.Status != s.Want.Status || r.Error != "" || r.Reason == "" {
					t.Fatalf("status %s (%s), error %q; planted %s", r.Status, r.Reason, r.Error, s.Want.Status)
				}
				items := uint64(0)
				if r.Inventory != nil {
					items = r.Inventory.Items
					for _, db := range r.Inventory.Databases {
						if db.Items != s.Want.Databases[db.Name] {
							t.Errorf("%s: %d blobs per gown, %d planted", db.Name, db.Items, s.Want.Databases[db.Name])
						}
					}
				}
				if items != s.Want.Items || (items > 0 && r.Inventory.Bytes == 0) {
					t.Errorf("inventory %+v, planted %d", r.Inventory, s.Want.Items)
				}
				samples, _, err := probe.SampleStore(t.Context(), New(), tg, d, r, probe.DefaultSample)
				if err != nil {
					t.Fatal(err)
				}
				per := map[string]int{}
				for _, x := range samples {
					per[x.Database]++
				}
				if listed := s.Want.Items > 0; listed && (per["users"] != 3 || per["exports"] != 5 || per[testbed.RansomName] != 1) || !listed && len(samples) != 0 {
					t.Errorf("samples per database %v", per)
				}
				time.Sleep(200 * time.Millisecond)
				reqs, err := s.HTTPLog(mark)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, q := range reqs {
					if q.Method != "GET" || q.Client != testbed.Source.String() {
						t.Errorf("Azurite's log shows %s from %s", q, q.Client)
					}
					got = append(got, q.Method)
				}
				if len(reqs) == 0 {
					t.Fatal("Azurite's log shows nothing from the scan: the check proves nothing")
				}
				t.Logf("%s %s: %s (%s) access=%q — %d blobs, %d sampled; Azurite's log: %d requests, methods %v", s.Name, style, r.Status,
					r.Reason, r.Details["access"], items, len(samples), len(reqs), slices.Compact(got))
			})
		}
	}
}

// TestRealAzuriteKnownBlob: in the blob-level container, a blob an app
// names (Target.Names, from its blob URL) is read and sampled, not only the
// absent name; the private container refuses it as it refuses the rest.
func TestRealAzuriteKnownBlob(t *testing.T) {
	bed := testbed.Require(t, "azblob-blob", "azblob-private")
	name := "users/" + testbed.People[0].ID + ".json"
	for _, s := range bed.Servers {
		t.Run(s.Name, func(t *testing.T) {
			a := s.Addr.Addr()
			tg := gown.Target{Host: s.Host, Addr: a, Port: int(s.Addr.Port()), Hint: "azblob", Path: s.Path, Names: name, Origin: "test"}
			d := probetest.Dialer(t)
			mark := s.LogSize()
			r, err := New().Probe(t.Context(), tg, d)
			if r == nil {
				t.Fatalf("no result: %v", err)
			}
			if r.Status != s.Want.Status {
				t.Fatalf("status %s (%s); planted %s", r.Status, r.Reason, s.Want.Status)
			}
			samples, _, err := probe.SampleStore(t.Context(), New(), tg, d, r, probe.DefaultSample)
			if err != nil {
				t.Fatal(err)
			}
			email := false
			for _, x := range samples {
				for _, f := range x.Fields {
					email = email || f.Path == "email"
				}
			}
			open := s.Want.Status == gown.StatusOpen
			if open && (r.Details["read_blob"] != name || len(samples) != 1 || !email) || !open && (r.Details["read_blob"] != "" || len(samples) != 0) {
				t.Errorf("read_blob %q, %d samples (email %t)", r.Details["read_blob"], len(samples), email)
			}
			time.Sleep(200 * time.Millisecond)
			reqs, err := s.HTTPLog(mark)
			if err != nil || len(reqs) == 0 {
				t.Fatalf("Azurite's log: %d requests, %v", len(reqs), err)
			}
			for _, q := range reqs {
				if q.Method != "GET" || q.Client != testbed.Source.String() {
					t.Errorf("Azurite's log shows %s from %s", q, q.Client)
				}
			}
			t.Logf("%s: %s (%s), %d sampled; Azurite's log: %d requests, all GET", s.Name, r.Status, r.Reason, len(samples), len(reqs))
		})
	}
}

func TestConformAzurite(t *testing.T) {
	bed := testbed.Require(t, testbed.NamesOf("azblob")...)
	for _, s := range bed.Servers {
		t.Run(s.Name, func(t *testing.T) { probetest.Conform(t, New(), s) })
	}
	probetest.ClosedPort(t, New())
}
