package mongodb

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/probe"
	"github.com/gownscan/gown/probe/flatten"
	"github.com/gownscan/gown/probe/sampletest"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// sampleTarget is the target SampleStore samples: the server realProbe
// probed.
func sampleTarget(s *testbed.Server) gown.Target { return bedTarget(s, false) }

// addrTarget is the target of a stand-in listening on addr.
func addrTarget(addr string) gown.Target {
	ap := netip.MustParseAddrPort(addr)
	return gown.Target{Host: "db.app.example", Addr: ap.Addr(), Port: int(ap.Port())}
}

// TestSampleFerretDB samples mongodb-open, where the test bed planted the
// corpus beside bulkier data: every planted person and the ransom note are
// read, nested documents come out as paths, no collection gives more than K
// documents, and the server's debug log shows that sampling sent only
// listCollections and find.
func TestSampleFerretDB(t *testing.T) {
	f := server(t, "mongodb-open")
	r := realProbe(t, f, false)
	if r.Status != gown.StatusOpen {
		t.Fatalf("status %s", r.Status)
	}
	mark := f.LogSize()
	lim := probe.DefaultSample
	samples, trunc, err := probe.SampleStore(t.Context(), New(), sampleTarget(f), bedDialer(t, 3*time.Second), r, lim)
	if err != nil {
		t.Fatal(err)
	}
	per := map[string]int{}
	people, notes, nested := 0, 0, 0
	for _, s := range samples {
		per[s.Database+"."+s.Collection]++
		for _, p := range testbed.People {
			if s.Key == p.ID && sampletest.Has(s, "email", p.Email) && sampletest.Has(s, "location.lat", p.Lat) && sampletest.Has(s, "devices.0.imei", p.IMEI) {
				people++
			}
		}
		if s.Database == testbed.RansomName && sampletest.Has(s, "message", testbed.RansomMessage) {
			notes++
		}
		if sampletest.Has(s, "devices.0.seen", "2023-11-14T22:13:20Z") {
			nested++
		}
	}
	want := map[string]int{"shop.customers": 5, "shop.orders": 5, "crm.leads": 5, testbed.MongoCorpusDB + ".users": 3, testbed.RansomName + ".README": 1}
	if fmt.Sprint(per) != fmt.Sprint(want) {
		t.Errorf("records per collection %v, want %v", per, want)
	}
	if people != len(testbed.People) || notes != 1 || nested != len(testbed.People) || trunc {
		t.Errorf("people %d, ransom notes %d, dates %d, truncated %v", people, notes, nested, trunc)
	}
	sent := requestsSince(t, f, mark)
	finds := 0
	for _, name := range sent {
		switch name {
		case "listCollections":
		case "find":
			finds++
		default:
			t.Errorf("sampling sent %q", name)
		}
	}
	if finds != len(want) {
		t.Errorf("server logged %d finds, want one per collection (%d): %v", finds, len(want), sent)
	}
	t.Logf("%d records from %d collections (truncated %v); the server logged: %v", len(samples), len(per), trunc, sent)

	// A byte cap far below one collection's records cuts sampling short and
	// says so.
	sampletest.TinyByteCap(t, New(), sampleTarget(f), bedDialer(t, 3*time.Second), r, lim)
}

// TestSampleHostile: a server that lists thousands of collections and
// answers every find with a batch far over K, of documents wide and deep
// beyond flatten's caps, still gets a bounded number of commands, and
// nothing it sends goes past the caps.
func TestSampleHostile(t *testing.T) {
	var names bson.A
	for i := range 5000 {
		names = append(names, bson.D{{Key: "name", Value: fmt.Sprintf("c%d", i)}, {Key: "type", Value: "collection"}})
	}
	names = append(bson.A{bson.D{{Key: "name", Value: "system.views"}}, bson.D{{Key: "name", Value: "v"}, {Key: "type", Value: "view"}}}, names...)
	deep := bson.D{{Key: "leaf", Value: "x"}}
	for range 90 {
		deep = bson.D{{Key: "d", Value: deep}}
	}
	wide := bson.D{}
	for i := range 400 {
		wide = append(wide, bson.E{Key: fmt.Sprintf("f%d", i), Value: "v"})
	}
	var batch bson.A
	for i := range 50 {
		batch = append(batch, bson.D{{Key: "_id", Value: int32(i)}, {Key: "deep", Value: deep}, {Key: "wide", Value: wide}})
	}
	cursor := func(b bson.A) bson.Raw {
		return doc(t, bson.D{{Key: "cursor", Value: bson.D{{Key: "id", Value: int64(0)}, {Key: "ns", Value: "app.x"}, {Key: "firstBatch", Value: b}}}, {Key: "ok", Value: 1.0}})
	}
	rp := &replay{replies: map[string]bson.Raw{"listCollections": cursor(names), "find": cursor(batch)}}
	addr := rp.start(t)
	r := &gown.Result{Status: gown.StatusOpen, Inventory: &gown.Inventory{Databases: []gown.Database{
		{Name: "admin", System: true}, {Name: "app", Items: 1 << 40}}}}
	lim := probe.SampleLimits{PerCollection: 5, Collections: 8, Bytes: 4 << 20, Timeout: 10 * time.Second}
	d, err := probe.NewDialer(probe.DialerConfig{IOTimeout: time.Second, MaxRead: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	samples, trunc, err := probe.SampleStore(t.Context(), New(), addrTarget(addr), d, r, lim)
	if err != nil {
		t.Fatal(err)
	}
	per := map[string]int{}
	for _, s := range samples {
		per[s.Collection]++
		if len(s.Fields) > flatten.MaxFields {
			t.Errorf("a record of %d fields", len(s.Fields))
		}
		for _, f := range s.Fields {
			if strings.Count(f.Path, ".") > flatten.MaxDepth {
				t.Errorf("field %.60s... is below the depth cap", f.Path)
			}
		}
	}
	for c, n := range per {
		if n > lim.PerCollection || strings.HasPrefix(c, "system.") || c == "v" {
			t.Errorf("collection %q gave %d records", c, n)
		}
	}
	cmds := rp.commands()
	if len(cmds) > 2+lim.Collections || len(per) != lim.Collections || !trunc {
		t.Errorf("%d commands %v for %d collections, truncated %v", len(cmds), cmds, len(per), trunc)
	}
	t.Logf("%d records from %d collections, %d commands, %s (truncated %v)", len(samples), len(per), len(cmds), time.Since(start).Round(time.Millisecond), trunc)
}

// TestDocFields pins the BSON to field conversion.
func TestDocFields(t *testing.T) {
	id := bson.NewObjectID()
	d := doc(t, bson.D{{Key: "_id", Value: id}, {Key: "n", Value: int32(7)}, {Key: "big", Value: int64(1) << 40},
		{Key: "f", Value: 2.5}, {Key: "ok", Value: true}, {Key: "none", Value: nil},
		{Key: "uuid", Value: bson.Binary{Subtype: 4, Data: []byte{0x6d, 0x92, 0x07, 0x8a, 0x82, 0x46, 0x4b, 0xa4, 0xae, 0x5b, 0x76, 0x10, 0x48, 0x61, 0xe7, 0xdc}}},
		{Key: "a", Value: bson.A{"x", bson.D{{Key: "k", Value: "v"}}}}})
	got := map[string]string{}
	for _, f := range docFields(d) {
		got[f.Path] = f.Value
	}
	want := map[string]string{"_id": id.Hex(), "n": "7", "big": "1099511627776", "f": "2.5", "ok": "true", "none": "",
		"uuid": "6d92078a-8246-4ba4-ae5b-76104861e7dc", "a.0": "x", "a.1.k": "v"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("fields %v, want %v", got, want)
	}
	if k := idOf(d); k != id.Hex() {
		t.Errorf("key %q", k)
	}
}

// TestSampleAllowList: a sampling session may send find and
// listCollections, and still nothing that writes.
func TestSampleAllowList(t *testing.T) {
	s := &session{sampling: true}
	for _, name := range []string{"insert", "update", "delete", "drop", "aggregate", "eval", "getMore", "killCursors"} {
		if _, err := s.command(name, "app", bson.D{{Key: name, Value: 1}}); err == nil {
			t.Errorf("sampling session let %s through", name)
		}
	}
	for name := range sampleReads {
		if allowed[name] {
			t.Errorf("%s is on Probe's list: Probe would send sampling reads", name)
		}
	}
}

// FuzzDocFields: whatever a valid BSON document holds, its fields stay
// within flatten's caps.
func FuzzDocFields(f *testing.F) {
	for _, d := range []bson.D{{{Key: "a", Value: bson.D{{Key: "b", Value: bson.A{int32(1), "x"}}}}}, {{Key: "_id", Value: bson.NewObjectID()}},
		{{Key: "bin", Value: bson.Binary{Subtype: 0, Data: []byte("xyz")}}, {Key: "re", Value: bson.Regex{Pattern: "a"}}}} {
		b, err := bson.Marshal(d)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		doc := bson.Raw(b)
		if doc.Validate() != nil {
			return
		}
		fs := docFields(doc)
		if len(fs) > flatten.MaxFields {
			t.Fatalf("%d fields", len(fs))
		}
		for _, x := range fs {
			if len(x.Value) > flatten.MaxValue {
				t.Fatalf("value of %d bytes", len(x.Value))
			}
		}
		idOf(doc)
	})
}
