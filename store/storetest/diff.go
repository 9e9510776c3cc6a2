package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/store"
)

// testDiff runs one subtest per diff kind, each over two fresh scans, plus
// the cases that must not be mistaken for one.
func testDiff(t *testing.T, s gown.Store) {
	tg := Target("10.0.0.9", 6379)
	open := func(n uint64) gown.Record {
		return Open(tg, "redis", gown.Database{Name: "db0", Items: n, Bytes: n * 10})
	}
	for _, c := range []struct {
		name          string
		before, after []gown.Record
		want          []string
	}{
		{"New", []gown.Record{Closed(tg)}, []gown.Record{open(7)},
			[]string{"open-store new 0>7"}},
		{"Fixed", []gown.Record{open(100), Auth(Target("10.0.0.9", 3306), "mysql")}, []gown.Record{Closed(tg)},
			[]string{"auth-without-tls fixed 0>0", "open-store fixed 100>0"}},
		{"FixedBySwitchingOnAuth", []gown.Record{open(100)}, []gown.Record{Auth(tg, "redis")},
			[]string{"open-store fixed 100>0", "auth-without-tls new 0>0"}},
		{"StillOpen", []gown.Record{open(100)}, []gown.Record{open(100)},
			[]string{"open-store still-open 100>100"}},
		// Without items, bytes decide, beyond 10% only: sizes such as
		// Redis used_memory drift between scans of the same data.
		{"StillOpenDespiteBytesDrift", []gown.Record{sized(tg, 1000)}, []gown.Record{sized(tg, 1090)},
			[]string{"open-store-empty still-open 0>0"}},
		{"GrownByBytes", []gown.Record{sized(tg, 1000)}, []gown.Record{sized(tg, 1200)},
			[]string{"open-store-empty grown 0>0"}},
		{"Grown", []gown.Record{open(50)}, []gown.Record{open(80)},
			[]string{"open-store grown 50>80"}},
		// An empty store that fills changes rule, not exposure.
		{"GrownFromEmpty", []gown.Record{open(0)}, []gown.Record{open(7)},
			[]string{"open-store grown 0>7"}},
		// One line per store carries the change; its other findings are
		// still open, or new.
		{"GrownWithOtherFindings", []gown.Record{with(open(50), "sensitive-data", "admin-access")},
			[]gown.Record{with(open(80), "sensitive-data", "compromised/redis-cron")},
			[]string{"open-store grown 50>80", "admin-access fixed 50>0", "compromised/redis-cron new 0>80", "sensitive-data still-open 50>80"}},
		{"Shrunk", []gown.Record{open(10)}, []gown.Record{open(5)},
			[]string{"open-store shrunk 10>5"}},
		{"ShrunkToEmpty", []gown.Record{open(200)}, []gown.Record{open(0)},
			[]string{"open-store-empty shrunk 200>0"}},
		{"WipedBySign", []gown.Record{open(300)}, []gown.Record{wipedRecord(tg)},
			[]string{"open-store wiped 300>2", "compromised/ransom-note new 0>2", "compromised/wiped new 0>2"}},
		// A store wiped before both scans is not wiped again.
		{"WipedBeforeBoth", []gown.Record{wipedRecord(tg)}, []gown.Record{wipedRecord(tg)},
			[]string{"open-store still-open 2>2", "compromised/ransom-note still-open 2>2", "compromised/wiped still-open 2>2"}},
		// Results stored without assessment fall back to the names.
		{"WipedByNameWithoutAssessment", []gown.Record{open(200)},
			[]gown.Record{Open(tg, "redis", gown.Database{Name: "READ_ME_TO_RECOVER_YOUR_DATA", Items: 1})},
			[]string{"open-store wiped 200>1"}},
		// When assess looked and saw no wipe, a name does not overrule it.
		{"NotWipedWhenAssessSaysNo", []gown.Record{open(200)},
			[]gown.Record{assessed(Open(tg, "redis", gown.Database{Name: "warning", Items: 1}))},
			[]string{"open-store shrunk 200>1"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := diffLines(t, s, c.before, c.after)
			if !slices.Equal(got, c.want) {
				t.Errorf("diff:\n got %q\nwant %q", got, c.want)
			}
		})
	}
	t.Run("Order", func(t *testing.T) {
		tgp := func(p int) gown.Target { return Target("10.0.0.9", p) }
		got := diffLines(t, s,
			[]gown.Record{Open(tgp(2), "redis", gown.Database{Name: "db0", Items: 1}), Auth(tgp(1), "mysql")},
			[]gown.Record{Open(tgp(3), "redis"), Open(tgp(2), "redis", gown.Database{Name: "db0", Items: 1})})
		want := []string{"auth-without-tls fixed 0>0", "open-store still-open 1>1", "open-store-empty new 0>0"}
		if !slices.Equal(got, want) {
			t.Errorf("order by port:\n got %q\nwant %q", got, want)
		}
	})
	t.Run("MissingScan", func(t *testing.T) {
		a := begin(t, s)
		if err := store.Diff(t.Context(), s, a, a+100, func(store.DiffEntry) error { return nil }); err == nil {
			t.Error("diff against a missing scan succeeded")
		}
	})
}

// diffLines stores before and after as two scans and returns the diff as
// "rule kind items-before>items-after" lines.
func diffLines(t *testing.T, s gown.Store, before, after []gown.Record) []string {
	t.Helper()
	a := begin(t, s)
	add(t, s, a, before...)
	b := begin(t, s)
	add(t, s, b, after...)
	var got []string
	err := store.Diff(t.Context(), s, a, b, func(e store.DiffEntry) error {
		rule := e.Finding.Rule
		if rule == "compromised" {
			rule = e.Finding.Title // with titles its findings by id: one per sign kind
		}
		got = append(got, fmt.Sprintf("%s %s %d>%d", rule, e.Kind, e.ItemsBefore, e.ItemsAfter))
		if e.Kind == store.DiffWiped && len(e.Notes) == 0 {
			t.Errorf("wiped entry names no note: %+v", e)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// with adds findings of the given rules to an open store's record, as
// assess would draw them: the same data at risk, ids from rule (or
// "compromised/kind").
func with(rec gown.Record, rules ...string) gown.Record {
	base := rec.Findings[0]
	for _, id := range rules {
		f := base
		rule, _, _ := strings.Cut(id, "/")
		f.Rule, f.ID, f.Severity, f.Title = rule, gown.FindingID(id, base.Store, base.Target), gown.SeverityCritical, id
		rec.Findings = append(rec.Findings, f)
	}
	return rec
}

// wipedRecord is a store assess judged wiped: two keys left, one a ransom
// note whose name a name check alone would miss.
func wipedRecord(t gown.Target) gown.Record {
	rec := assessed(Open(t, "redis", gown.Database{Name: "db0", Items: 2, Bytes: 20}))
	rec.Result.Signs = []gown.Sign{
		{Kind: "ransom-note", Where: "db0/note", Detail: "text demands ransom"},
		{Kind: "wiped", Where: "db0", Detail: "the store holds nothing but a ransom note"},
	}
	return with(rec, "compromised/ransom-note", "compromised/wiped")
}

// assessed marks a result as sampled, with nothing sensitive found.
func assessed(rec gown.Record) gown.Record {
	rec.Result.Exposure = &gown.Exposure{Sampled: 1, Bytes: 10}
	return rec
}

// sized is an open store that counts no items, only bytes.
func sized(t gown.Target, bytes uint64) gown.Record {
	return Open(t, "redis", gown.Database{Name: "db0", Bytes: bytes})
}
