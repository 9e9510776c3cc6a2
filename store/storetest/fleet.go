package storetest

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"github.com/gownscan/gown"
)

// fleetOf returns s as a FleetStore, failing the test when it is not one.
func fleetOf(t *testing.T, s gown.Store) gown.FleetStore {
	t.Helper()
	fs, ok := s.(gown.FleetStore)
	if !ok {
		t.Fatalf("%T is not a gown.FleetStore", s)
	}
	return fs
}

func owner(key string) *gown.OwnerRef { return &gown.OwnerRef{Key: key, Masked: key[:1] + "***"} }

// testFleetImport imports an inventory, imports it again changed, and
// checks what an import keeps: devices by (source, MDM id), installs
// replaced per device, devices the export does not list left alone, owners
// by key; a failing import changes nothing; the owner key stays the same.
func testFleetImport(t *testing.T, s gown.Store) {
	fs := fleetOf(t, s)
	ctx := t.Context()
	k1, err := fs.OwnerKey(ctx)
	if err != nil || len(k1) != 32 {
		t.Fatalf("OwnerKey: %x, %v", k1, err)
	}
	if k2, _ := fs.OwnerKey(ctx); !bytes.Equal(k1, k2) {
		t.Error("the owner key changed between calls")
	}
	inv := gown.FleetInventory{Source: "intune", Devices: []gown.FleetDevice{
		{MDMID: "d1", Platform: gown.PlatformAndroid, Model: "Pixel 8", OSVersion: "14", Owner: owner("alice"),
			Apps: []gown.InstalledApp{{ID: "com.acme.sales", Name: "Sales", Version: "1.0"}, {ID: "com.acme.hr", Version: "2.0"}}},
		{MDMID: "d2", Platform: gown.PlatformIOS, Model: "iPhone 15", Owner: owner("bob"),
			Apps: []gown.InstalledApp{{ID: "com.acme.sales", Version: "1.0"}}},
		{MDMID: "d3", Platform: gown.PlatformAndroid, Owner: owner("alice")},
	}}
	st, err := fs.ImportInventory(ctx, inv)
	if err != nil {
		t.Fatal(err)
	}
	if want := (gown.ImportStats{Devices: 3, New: 3, Installs: 3, Apps: 3, Versions: 3, Owners: 2}); st != want {
		t.Errorf("first import: %+v, want %+v", st, want)
	}
	// The same ids again: d1 updated (one app uninstalled, one upgraded),
	// d2 not in this export, d3 unchanged, d4 new.
	inv2 := gown.FleetInventory{Source: "intune", Devices: []gown.FleetDevice{
		{MDMID: "d1", Platform: gown.PlatformAndroid, Model: "Pixel 9", OSVersion: "15", Owner: owner("alice"),
			Apps: []gown.InstalledApp{{ID: "com.acme.sales", Version: "1.1"}}},
		{MDMID: "d3", Platform: gown.PlatformAndroid, Owner: owner("alice")},
		{MDMID: "d4", Platform: gown.PlatformAndroid, Owner: owner("carol"), Apps: []gown.InstalledApp{{ID: "com.acme.hr", Version: "2.0"}}},
	}}
	if st, err = fs.ImportInventory(ctx, inv2); err != nil {
		t.Fatal(err)
	}
	if st.Devices != 3 || st.New != 1 || st.Installs != 2 {
		t.Errorf("re-import: %+v, want 3 devices, 1 new, 2 installs", st)
	}
	got := versions(t, fs)
	want := []string{"android com.acme.hr 2.0: 1", "android com.acme.sales 1.0: 0", "android com.acme.sales 1.1: 1", "ios com.acme.sales 1.0: 1"}
	if !slices.Equal(got, want) {
		t.Errorf("versions after re-import:\n got %q\nwant %q", got, want)
	}
	// A bad device in the middle: the whole import is refused.
	bad := gown.FleetInventory{Source: "intune", Devices: []gown.FleetDevice{
		{MDMID: "d5", Platform: gown.PlatformAndroid, Apps: []gown.InstalledApp{{ID: "com.new", Version: "1"}}}, {MDMID: ""}}}
	if _, err := fs.ImportInventory(ctx, bad); err == nil {
		t.Error("an import with a device without an id succeeded")
	}
	if after := versions(t, fs); !slices.Equal(after, want) {
		t.Errorf("a failed import changed the store:\n got %q\nwant %q", after, want)
	}
}

func versions(t *testing.T, fs gown.FleetStore) []string {
	t.Helper()
	var out []string
	err := fs.FleetVersions(t.Context(), func(v gown.FleetVersion) error {
		out = append(out, fmt.Sprintf("%s %s %s: %d", v.Platform, v.AppID, v.Version, v.Devices))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// testFleetReport plants a fleet, a fleet scan's results and its checks,
// and reads the report: back ends with the versions naming them and who
// runs them, versions checked or not, devices with their exposure, owners
// counted, masked only.
func testFleetReport(t *testing.T, s gown.Store) {
	fs := fleetOf(t, s)
	ctx := t.Context()
	_, err := fs.ImportInventory(ctx, gown.FleetInventory{Source: "jamf", Devices: []gown.FleetDevice{
		{MDMID: "1", Platform: gown.PlatformAndroid, Owner: owner("anna"), Apps: []gown.InstalledApp{{ID: "com.acme.sales", Version: "1.0"}}},
		{MDMID: "2", Platform: gown.PlatformAndroid, Owner: owner("ben"),
			Apps: []gown.InstalledApp{{ID: "com.acme.sales", Version: "1.0"}, {ID: "com.acme.hr", Version: "2.0"}}},
		{MDMID: "3", Platform: gown.PlatformAndroid, Owner: owner("cleo"), Apps: []gown.InstalledApp{{ID: "com.other", Version: "7"}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.BeginScan(ctx, gown.ScanMeta{Command: "fleet", Args: []string{"apps/"}, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	db := gown.Target{Host: "db.acme.test", Port: 6379, Origin: "app"}
	cache := gown.Target{Host: "cache.acme.test", Port: 3306, Origin: "app"}
	add(t, s, id, Open(db, "redis", gown.Database{Name: "db0", Items: 40, Bytes: 4000}), Auth(cache, "mysql"),
		gown.Record{Findings: []gown.Finding{AppFinding("com.acme.sales", "hardcoded-credential", 10)}},
		Closed(gown.Target{Host: "db.acme.test", Port: 27017, Origin: "app"}))
	finish(t, s, id, gown.ScanDone)
	checks := []gown.FleetCheck{
		{Platform: gown.PlatformAndroid, AppID: "com.acme.sales", Version: "1.0", State: gown.CheckScanned, File: "sales.apk", SHA256: "aa",
			Backends: []gown.FleetBackendRef{{Host: "db.acme.test", Port: 6379, Endpoint: "redis://db.acme.test:6379"}, {Host: "db.acme.test", Port: 27017}}},
		{Platform: gown.PlatformAndroid, AppID: "com.acme.hr", Version: "2.0", State: gown.CheckScanned, File: "hr.apk", SHA256: "bb",
			Backends: []gown.FleetBackendRef{{Host: "cache.acme.test", Port: 3306}}},
		{Platform: gown.PlatformAndroid, AppID: "com.other", Version: "7", State: gown.CheckNoBinary, Reason: "no binary given"},
	}
	if err := fs.RecordFleetChecks(ctx, id, checks); err != nil {
		t.Fatal(err)
	}
	if err := fs.RecordFleetChecks(ctx, id, checks); err != nil { // again: replaces, adds nothing
		t.Fatal(err)
	}
	if ids, err := fs.FleetScans(ctx); err != nil || !slices.Equal(ids, []gown.ScanID{id}) {
		t.Errorf("FleetScans: %v, %v", ids, err)
	}
	rep, err := fs.FleetReport(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	sum := rep.Summary
	want := gown.FleetSummary{Devices: 3, DevicesExposed: 2, Owners: 3, OwnersExposed: 2, Versions: 3, Checked: 2, NotChecked: 1,
		Backends: 2, Exposed: 2}
	want.BySeverity[gown.SeverityHigh], want.BySeverity[gown.SeverityMedium], want.BySeverity[gown.SeverityLow] = 1, 1, 1
	if sum != want {
		t.Errorf("summary\n got %+v\nwant %+v", sum, want)
	}
	if len(rep.Backends) != 2 {
		t.Fatalf("back ends: %+v", rep.Backends)
	}
	b := rep.Backends[0] // the worst first
	if b.Host != "db.acme.test" || b.Port != 6379 || b.Store != "redis" || b.Status != gown.StatusOpen || b.Worst == nil ||
		*b.Worst != gown.SeverityHigh || !slices.Equal(b.Apps, []string{"com.acme.sales 1.0"}) || b.Devices != 2 || b.Owners != 2 {
		t.Errorf("first back end: %+v", b)
	}
	if len(b.Findings) != 1 || b.Findings[0].FirstSeen != id || b.Findings[0].Since.IsZero() || b.Findings[0].Items != 40 {
		t.Errorf("its findings: %+v", b.Findings)
	}
	if c := rep.Backends[1]; c.Host != "cache.acme.test" || c.Devices != 1 || *c.Worst != gown.SeverityLow {
		t.Errorf("second back end: %+v", c)
	}
	states := map[string]string{}
	for _, a := range rep.Apps {
		states[a.AppID] = fmt.Sprintf("%s %d findings, %d devices, %d hosts", a.State, len(a.Findings), a.Devices, a.Backends)
	}
	wantStates := map[string]string{"com.acme.sales": "scanned 2 findings, 2 devices, 1 hosts",
		"com.acme.hr": "scanned 1 findings, 1 devices, 1 hosts", "com.other": "no-binary 0 findings, 1 devices, 0 hosts"}
	if fmt.Sprint(states) != fmt.Sprint(wantStates) {
		t.Errorf("apps: %v, want %v", states, wantStates)
	}
	dev := map[string]string{}
	for _, d := range rep.Devices {
		dev[d.MDMID] = fmt.Sprintf("%s apps=%d exposed=%d unchecked=%d findings=%d", d.Owner, d.Apps, d.ExposedApps, d.NotChecked, d.Findings)
		if d.Owner == "anna" || d.Owner == "ben" {
			t.Errorf("device %s shows its owner unmasked: %q", d.MDMID, d.Owner)
		}
	}
	wantDev := map[string]string{"1": "a*** apps=1 exposed=1 unchecked=0 findings=2", "2": "b*** apps=2 exposed=2 unchecked=0 findings=3",
		"3": "c*** apps=1 exposed=0 unchecked=1 findings=0"}
	if fmt.Sprint(dev) != fmt.Sprint(wantDev) {
		t.Errorf("devices:\n got %v\nwant %v", dev, wantDev)
	}
	if rep.Devices[0].MDMID != "2" || rep.Devices[0].Worst == nil || *rep.Devices[0].Worst != gown.SeverityHigh {
		t.Errorf("the most exposed device first: %+v", rep.Devices[0])
	}
}
