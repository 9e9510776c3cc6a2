package web_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/fleet"
	"github.com/gownscan/gown/internal/fleetsample"
	"github.com/gownscan/gown/store/sqlite"
	"github.com/gownscan/gown/web"
)

// fleetDB is the fixture's fleet store (fleetfixture_test.go).
func fleetDB(t *testing.T) string {
	t.Helper()
	fixtureDB(t)
	return fixture.fleet
}

// TestFleetPage serves a store holding the sample fleet and a real fleet
// scan of it: /api/fleet gives the report, the page shows back ends → apps
// → devices with the same numbers, owners only masked.
func TestFleetPage(t *testing.T) {
	srv, _ := serve(t, fleetDB(t), web.Config{})
	var v struct {
		Available bool                  `json:"available"`
		Scans     []gown.ScanID         `json:"scans"`
		Summary   gown.FleetSummary     `json:"summary"`
		Backends  []gown.FleetBackend   `json:"backends"`
		Devices   []gown.FleetDeviceRow `json:"devices"`
	}
	getJSON(t, srv.URL, "/api/fleet", &v)
	if !v.Available || len(v.Scans) != 1 || v.Summary.Devices != 50 || v.Summary.Checked != 5 || v.Summary.Backends != 4 ||
		v.Summary.Exposed != 4 || v.Summary.DevicesExposed == 0 || len(v.Devices) != 50 {
		t.Fatalf("/api/fleet: %+v", v)
	}
	resp, page := get(t, srv.URL, "/fleet")
	checkHeaders(t, "/fleet", resp.Header)
	if n := strings.Count(page, `class="backend"`); n != 4 {
		t.Errorf("the fleet tree shows %d back ends, want 4", n)
	}
	if n := strings.Count(page, `class="fleet-device"`); n != 50 {
		t.Errorf("the page lists %d devices, want 50", n)
	}
	for _, b := range fleetsample.Backends {
		if !strings.Contains(page, b.Host+":") {
			t.Errorf("the page does not name back end %s", b.Host)
		}
	}
	for _, p := range fleetsample.People {
		if strings.Contains(page, p.Email()) || strings.Contains(page, p.First+" "+p.Last) {
			t.Errorf("the page shows %s unmasked", p.Email())
		}
	}
	if r, _ := get(t, srv.URL, "/fleet?scan=999"); r.StatusCode != 404 {
		t.Errorf("/fleet?scan=999: %d, want 404", r.StatusCode)
	}
	if r, _ := get(t, srv.URL, "/api/fleet?scan=x"); r.StatusCode != 400 {
		t.Errorf("/api/fleet?scan=x: %d, want 400", r.StatusCode)
	}
}

// TestFleetHostile: inventory values are the MDM's, and an MDM holds what
// users typed: a model or an app id with markup or control characters is
// shown as text.
func TestFleetHostile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	st, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	csv := "device_id,platform,model,os_version,owner,app_id,app_name,app_version\n" +
		"\"<img src=x onerror=alert(1)>\",android,\"<script>alert(2)</script>\",14,\"evil\x1b[2J@x.net\",\"com.evil\u202e.app\",App,1\n"
	f := filepath.Join(t.TempDir(), "h.csv")
	os.WriteFile(f, []byte(csv), 0o644)
	if _, err := fleet.Import(t.Context(), st, []string{f}, fleet.ReadConfig{}); err != nil {
		t.Fatal(err)
	}
	id, _ := st.BeginScan(t.Context(), gown.ScanMeta{Command: "fleet"})
	st.RecordFleetChecks(t.Context(), id, []gown.FleetCheck{{Platform: "android", AppID: "com.evil\u202e.app", Version: "1",
		State: gown.CheckNoBinary, Reason: "<b>no</b>"}})
	st.FinishScan(t.Context(), id, gown.ScanDone)
	st.Close()
	srv, _ := serve(t, path, web.Config{})
	_, page := get(t, srv.URL, "/fleet")
	for _, bad := range []string{"<img src=x", "<script>alert", "\x1b", "\u202e", "<b>no</b>"} {
		if strings.Contains(page, bad) {
			t.Errorf("the fleet page holds %q raw", bad)
		}
	}
	if !strings.Contains(page, "&lt;script&gt;") || !strings.Contains(page, `\u202e`) {
		t.Error("the hostile values are not shown escaped")
	}
}
