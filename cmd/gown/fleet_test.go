package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/fleetsample"
	"github.com/gownscan/gown/internal/testbed"
)

// sampleDir holds the committed sample exports.
var sampleDir = filepath.Join("..", "..", "fleet", "testdata", "sample")

// fleetBed starts the four back ends of the sample fleets and returns the
// --resolve flags that map their host names to the servers, and the ports.
func fleetBed(t *testing.T) (*testbed.Bed, fleetsample.Ports, []string) {
	t.Helper()
	var names []string
	for _, b := range fleetsample.Backends {
		names = append(names, b.Bed)
	}
	bed := testbed.Require(t, names...)
	ports := fleetsample.Ports{}
	var flags []string
	for _, b := range fleetsample.Backends {
		s := bed.Get(b.Bed)
		ports[b.Bed] = s.Addr.Port()
		flags = append(flags, "--resolve", b.Host+"="+s.Addr.Addr().String())
	}
	return bed, ports, flags
}

// runCode runs gown and returns its exit code and output.
func runCode(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(t.Context(), args, nil, &out, &errb)
	return code, out.String(), errb.String()
}

// expectedExposure computes, from the sample fleet alone, what a fleet scan
// of its binaries against open back ends must report: the devices running
// a version a binary was given for are exposed, with their owners.
func expectedExposure(f fleetsample.Fleet) (devices, owners int, perBackend map[string]int) {
	perBackend = map[string]int{}
	seenOwner := map[int]bool{}
	for _, d := range f.Devices {
		exposed := false
		hosts := map[string]bool{}
		for _, in := range f.Installs(d) {
			if in.App.Binary && in.Version == in.App.Version {
				exposed = true
				for _, b := range in.App.Backends {
					hosts[b.Host] = true
				}
			}
		}
		for h := range hosts {
			perBackend[h]++
		}
		if exposed {
			devices++
			if d.Owner >= 0 && !seenOwner[d.Owner] {
				seenOwner[d.Owner] = true
				owners++
			}
		}
	}
	return devices, owners, perBackend
}

// TestFleetScanSample imports the sample Intune export (50 devices, 20
// apps), builds the five binaries (three APKs, two IPAs) whose back ends are
// the test bed's real servers, runs gown fleet scan and checks the fleet
// report's numbers against what the sample planted; then the same for the
// Jamf Pro sample (an Apple fleet, five IPAs). The results store holds no
// owner's e-mail or name and no device name.
func TestFleetScanSample(t *testing.T) {
	_, ports, resolve := fleetBed(t)
	for _, c := range []struct {
		fleet  fleetsample.Fleet
		export string
	}{{fleetsample.Mixed, "intune.csv"}, {fleetsample.Apple, "jamf.json"}} {
		t.Run(c.export, func(t *testing.T) {
			dir := t.TempDir()
			db := filepath.Join(dir, "fleet.db")
			apps := filepath.Join(dir, "apps")
			os.Mkdir(apps, 0o755)
			if _, err := fleetsample.WriteBinaries(c.fleet, apps, ports); err != nil {
				t.Fatal(err)
			}
			imp := runOK(t, append([]string{"fleet", "import", filepath.Join(sampleDir, c.export), "--db", db}, fleetsample.AppIDFlags(c.fleet)...)...)
			t.Logf("gown fleet import %s:\n%s", c.export, imp)
			args := append([]string{"fleet", "scan", apps, "--db", db, "--allow-private", "--no-dns", "--source", testbed.Source.String()}, resolve...)
			code, out, errOut := runCode(t, args...)
			t.Logf("gown fleet scan (exit %d):\n%s\n%s", code, errOut, out)
			if code != exitOK {
				t.Fatalf("gown fleet scan: exit %d", code)
			}
			table := runOK(t, "fleet", "report", "--db", db)
			t.Logf("gown fleet report:\n%s", table)
			var rep gown.FleetReport
			repJSON := runOK(t, "fleet", "report", "--db", db, "--format", "json")
			if err := json.Unmarshal([]byte(repJSON), &rep); err != nil {
				t.Fatal(err)
			}
			validateDoc(t, "fleet-report", "gown fleet report --format json", repJSON) // docs/schema
			checkFleetReport(t, c.fleet, rep)
			for _, format := range []string{"html", "csv"} {
				if out := runOK(t, "fleet", "report", "--db", db, "--format", format, "-o", filepath.Join(dir, "report."+format)); out != "" {
					t.Errorf("-o wrote to stdout: %q", out)
				}
			}
			if code, _, _ := runCode(t, "fleet", "report", "--db", db, "--fail-on", "high"); code != exitFindings {
				t.Errorf("--fail-on high: exit %d, want %d", code, exitFindings)
			}
			checkNoPersonalData(t, c.fleet, db, dir)
		})
	}
}

func checkFleetReport(t *testing.T, f fleetsample.Fleet, rep gown.FleetReport) {
	t.Helper()
	devices, owners, perBackend := expectedExposure(f)
	s := rep.Summary
	versions := map[string]bool{}
	for _, d := range f.Devices {
		for _, in := range f.Installs(d) {
			versions[in.App.ID+" "+in.Version] = true
		}
	}
	if s.Devices != 50 || s.DevicesExposed != int64(devices) || s.Owners != 40 || s.OwnersExposed != int64(owners) ||
		s.Versions != int64(len(versions)) || s.Checked != 5 || s.NotChecked != int64(len(versions)-5) || s.Backends != 4 || s.Exposed != 4 {
		t.Errorf("summary %+v: want 50 devices, %d exposed, 40 owners, %d exposed, %d versions, 5 checked, %d not, 4 back ends all exposed",
			s, devices, owners, len(versions), len(versions)-5)
	}
	for _, b := range rep.Backends {
		want := perBackend[b.Host]
		if b.Devices != int64(want) || b.Worst == nil || len(b.Findings) == 0 || b.Status != gown.StatusOpen {
			t.Errorf("back end %s:%d: %d devices, worst %v, %d findings, %s: want %d devices, open, with findings",
				b.Host, b.Port, b.Devices, b.Worst, len(b.Findings), b.Status, want)
		}
		for _, fd := range b.Findings {
			if fd.FirstSeen != rep.Scan.ID || fd.Since.IsZero() {
				t.Errorf("finding %s: first seen %d (%v), want this scan", fd.ID, fd.FirstSeen, fd.Since)
			}
		}
	}
	for _, a := range rep.Apps {
		bin := slices.ContainsFunc(f.Binaries(), func(x fleetsample.App) bool { return x.ID == a.AppID && x.Version == a.Version })
		if bin != (a.State == gown.CheckScanned) {
			t.Errorf("app %s %s: %s, binary given: %v", a.AppID, a.Version, a.State, bin)
		}
		if bin && (a.SHA256 == "" || a.Worst == nil) {
			t.Errorf("app %s %s: checked without a digest or findings: %+v", a.AppID, a.Version, a)
		}
	}
	for _, d := range rep.Devices {
		if d.Owner != "" && !strings.Contains(d.Owner, "***") {
			t.Errorf("device %s: owner %q unmasked", d.MDMID, d.Owner)
		}
	}
}

// checkNoPersonalData reads every file of the store and the reports: no
// owner's e-mail address, user name or name, and no device name, is there.
func checkNoPersonalData(t *testing.T, f fleetsample.Fleet, db, dir string) {
	t.Helper()
	files, _ := filepath.Glob(db + "*")
	reports, _ := filepath.Glob(filepath.Join(dir, "report.*"))
	for _, p := range append(files, reports...) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		lower := bytes.ToLower(b)
		for _, person := range fleetsample.People {
			for _, v := range []string{person.Email(), strings.ToLower(person.First + " " + person.Last), strings.ToLower(person.First + "'s "),
				"\x00" + person.Username() + "\x00"} {
				if bytes.Contains(lower, []byte(v)) {
					t.Errorf("%s holds %q", filepath.Base(p), v)
				}
			}
		}
		if bytes.Contains(b, []byte("Winter2024-hr")) {
			t.Errorf("%s holds the app's hard-coded database password", filepath.Base(p))
		}
	}
	t.Logf("checked %d files for owners' e-mail addresses, names, user names and device names: %d people, none found", len(files)+len(reports), len(fleetsample.People))
}

// TestFleetImportFormats imports each sample export of the Mixed fleet into
// its own store: every format holds the same app versions on the same
// number of devices. Re-importing one updates: nothing is added.
func TestFleetImportFormats(t *testing.T) {
	var want string
	for _, name := range []string{"intune.csv", "intune.json", "workspaceone.csv", "workspaceone.json", "generic.csv", "generic.json"} {
		db := filepath.Join(t.TempDir(), "f.db")
		args := append([]string{"fleet", "import", filepath.Join(sampleDir, name), "--db", db}, fleetsample.AppIDFlags(fleetsample.Mixed)...)
		out := runOK(t, args...)
		again := runOK(t, args...)
		t.Logf("%s%s", out, again)
		if !strings.Contains(again, "50 devices (0 new)") {
			t.Errorf("%s re-imported: %q, want 50 devices, none new", name, again)
		}
		st, err := openFleet(t.Context(), db)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		st.FleetVersions(t.Context(), func(v gown.FleetVersion) error {
			got = append(got, fmt.Sprintf("%s %s %s %d", v.Platform, v.AppID, v.Version, v.Devices))
			return nil
		})
		st.Close()
		if len(got) != 22 {
			t.Errorf("%s: %d app versions, want 22: %q", name, len(got), got)
		}
		if want == "" {
			want = strings.Join(got, "\n")
		} else if g := strings.Join(got, "\n"); g != want {
			t.Errorf("%s disagrees with intune.csv:\n%s\n---\n%s", name, g, want)
		}
	}
}

// TestFleetImportBadRows: a file with bad rows exits 2 naming each line,
// and what an earlier import stored is all still there.
func TestFleetImportBadRows(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "f.db")
	runOK(t, "fleet", "import", filepath.Join(sampleDir, "generic.csv"), "--db", db)
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("device_id,platform,owner,app_id,app_name,app_version\n"+
		"dev-001,android,a@acme-fleet.net,com.acme.new,New,1.0\n,android,,com.x,X,1\n"+
		"dev-002,android,b@acme-fleet.net\n"), 0o644)
	code, out, errOut := runCode(t, "fleet", "import", bad, "--db", db)
	t.Logf("exit %d\n%s%s", code, out, errOut)
	if code != exitUsage || !strings.Contains(errOut, "line 3: no device id") || !strings.Contains(errOut, "line 4: wrong number of fields") {
		t.Errorf("bad rows: exit %d, %q", code, errOut)
	}
	st, err := openFleet(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n := 0
	st.FleetVersions(t.Context(), func(v gown.FleetVersion) error {
		if v.AppID == "com.acme.new" {
			t.Error("a row of the refused file was stored")
		}
		n++
		return nil
	})
	if n != 22 {
		t.Errorf("%d versions after the refused import, want the 22 stored before", n)
	}
}
