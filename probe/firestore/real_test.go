package firestore

import (
	"context"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/probe"
	"github.com/gownscan/gown/probe/probetest"
)

// No Firestore server can run here: the test bed's firestore
// configurations are STAND-INS replaying documents.list as Google documents
// it (open rules: documents; closed rules: 403 PERMISSION_DENIED), over TLS,
// named firestore.googleapis.com with the project's database as the path.
// These tests check gown's verdicts, inventory and samples against them,
// and from the stand-in's request log that gown sent GETs only, from its
// source address, to the database's collections only.

func TestStandInFirestore(t *testing.T) {
	bed := testbed.Require(t, testbed.NamesOf("firestore")...)
	for _, s := range bed.Servers {
		t.Run(s.Name, func(t *testing.T) {
			if !s.StandIn {
				t.Fatal("a firestore configuration that is not labelled a stand-in")
			}
			a := s.Addr.Addr()
			tg := gown.Target{Host: s.Host, Addr: a, Port: int(s.Addr.Port()), Hint: "firestore", TLS: true, Path: s.Path, Names: s.Names, Origin: "test"}
			mark := s.LogSize()
			ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
			defer cancel()
			d := probetest.Dialer(t)
			r, err := New().Probe(ctx, tg, d)
			if r == nil {
				t.Fatalf("no result: %v", err)
			}
			if r.Status != s.Want.Status || r.Reason == "" || r.TLS.Mode != gown.TLSRequired {
				t.Fatalf("status %s (%s), TLS %s; planted %s", r.Status, r.Reason, r.TLS.Mode, s.Want.Status)
			}
			items := uint64(0)
			if r.Inventory != nil {
				items = r.Inventory.Items
				for _, db := range r.Inventory.Databases {
					if db.Items != s.Want.Databases[db.Name] {
						t.Errorf("%s: %d documents per gown, %d planted", db.Name, db.Items, s.Want.Databases[db.Name])
					}
				}
			}
			if items != s.Want.Items {
				t.Errorf("inventory %+v, planted %d", r.Inventory, s.Want.Items)
			}
			if s.Want.Status == gown.StatusOpen {
				// Without the app's names, its own collection stays unseen:
				// the names are what finds it.
				bare := tg
				bare.Names = ""
				b, err := New().Probe(ctx, bare, d)
				if err != nil || b.Inventory == nil {
					t.Fatalf("probe without names: %+v, %v", b, err)
				}
				for _, db := range b.Inventory.Databases {
					if db.Name == testbed.FirestoreAppCollection {
						t.Errorf("%s found without the app's names", db.Name)
					}
				}
			}
			samples, _, err := probe.SampleStore(t.Context(), New(), tg, d, r, probe.DefaultSample)
			if err != nil {
				t.Fatal(err)
			}
			per := map[string]int{}
			emails := 0
			for _, x := range samples {
				per[x.Database]++
				for _, f := range x.Fields {
					if f.Path == "email" {
						emails++
					}
				}
			}
			if open := s.Want.Status == gown.StatusOpen; open && (per["users"] != 3 || emails != 3 || per["messages"] != 1) || !open && len(samples) != 0 {
				t.Errorf("samples per collection %v, %d email fields", per, emails)
			}
			time.Sleep(100 * time.Millisecond)
			reqs, err := s.HTTPLog(mark)
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range reqs {
				if q.Method != "GET" || q.Client != testbed.Source.String() || len(q.Path) < len(s.Path) || q.Path[:len(s.Path)] != s.Path {
					t.Errorf("the stand-in's log shows %s from %s", q, q.Client)
				}
			}
			if len(reqs) == 0 {
				t.Fatal("the stand-in's log shows nothing from the scan: the check proves nothing")
			}
			t.Logf("%s: %s (%s) — %d documents, %d sampled; the stand-in's log: %d requests, all GET", s.Name, r.Status, r.Reason,
				items, len(samples), len(reqs))
		})
	}
}

func TestConformFirestore(t *testing.T) {
	bed := testbed.Require(t, testbed.NamesOf("firestore")...)
	for _, s := range bed.Servers {
		t.Run(s.Name, func(t *testing.T) { probetest.Conform(t, New(), s) })
	}
	probetest.ClosedPort(t, New())
}
