package storetest

import (
	"testing"

	"github.com/gownscan/gown"
)

// testPaths: targets that differ only in Path (two containers of one Azure
// account, behind one host:port) are two targets, two results and two
// findings, and each reads back with its path; a target without a path
// keeps the finding id it had before targets had paths.
func testPaths(t *testing.T, s gown.Store) {
	base := Target("127.0.0.1", 10000)
	a, b := base, base
	a.Path, b.Path = "/devstoreaccount1/photos", "/devstoreaccount1/backups"
	id := begin(t, s)
	add(t, s, id, Open(a, "azblob", gown.Database{Name: "2024", Items: 3}), Auth(b, "azblob"), Open(base, "redis"))
	if gown.FindingID("open-store", "azblob", a) == gown.FindingID("open-store", "azblob", b) {
		t.Fatal("two containers share a finding id")
	}
	if keys := countDone(t, s, id); len(keys) != 3 || !keys[gown.TargetKey(a)] || !keys[gown.TargetKey(b)] || !keys[gown.TargetKey(base)] {
		t.Fatalf("done targets %v: want the two containers and the bare host apart", keys)
	}
	got := map[string]stored{}
	for _, r := range readAll(t, s, id) {
		got[r.r.Target.Path] = r
	}
	if len(got) != 3 {
		t.Fatalf("%d results by path, want 3: %v", len(got), got)
	}
	for _, tg := range []gown.Target{a, b, base} {
		r, ok := got[tg.Path]
		if !ok || r.r.Target.String() != tg.String() || len(r.fs) != 1 || r.fs[0].Target.Path != tg.Path ||
			r.fs[0].ID != gown.FindingID(r.fs[0].Rule, r.r.Store, tg) {
			t.Errorf("path %q read back as %+v", tg.Path, r)
		}
	}
	if s := a.String(); s != "127.0.0.1:10000/devstoreaccount1/photos" {
		t.Errorf("Target.String() = %q", s)
	}
	n := 0
	for _, f := range history(t, s) {
		if f.Store == "azblob" {
			n++
			if f.Target.Path != a.Path && f.Target.Path != b.Path {
				t.Errorf("tracked finding %s has path %q", f.ID, f.Target.Path)
			}
		}
	}
	if n != 2 {
		t.Errorf("%d azblob findings tracked, want one per container", n)
	}
	br, ok := s.(gown.Browser)
	if !ok {
		return
	}
	p, err := br.FindingPage(t.Context(), id, gown.FindingQuery{Limit: gown.MaxFindingPage})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range p.Rows {
		if f := r.Finding; f.Store == "azblob" && f.Target.Path != a.Path && f.Target.Path != b.Path {
			t.Errorf("finding row %s has path %q", f.ID, f.Target.Path)
		}
		d, err := br.FindingDetail(t.Context(), id, r.Finding.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d.Finding.Target.Path != r.Finding.Target.Path {
			t.Errorf("finding %s: detail path %q, row path %q", r.Finding.ID, d.Finding.Target.Path, r.Finding.Target.Path)
		}
	}
}
