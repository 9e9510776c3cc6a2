package fleet

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/fleetsample"
)

var update = flag.Bool("update", false, "rewrite the sample exports in testdata/sample")

// TestSampleExports keeps the committed sample exports equal to what
// fleetsample renders (go test ./fleet -run SampleExports -update rewrites
// them).
func TestSampleExports(t *testing.T) {
	for name, want := range fleetsample.Exports() {
		p := filepath.Join("testdata", "sample", name)
		if *update {
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("%v (run go test ./fleet -run SampleExports -update)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what fleetsample renders: run go test ./fleet -run SampleExports -update", p)
		}
	}
}

// summary renders what an inventory holds, for comparing formats.
func summary(p *Parsed) (devices, owners int, versions []string) {
	seenOwner, seenVer := map[string]bool{}, map[string]bool{}
	for _, d := range p.devices {
		if d.owner != "" {
			seenOwner[strings.ToLower(d.owner)] = true
		}
		for _, a := range d.apps {
			k := d.platform + " " + a.ID + " " + a.Version
			if !seenVer[k] {
				seenVer[k] = true
				versions = append(versions, k)
			}
		}
	}
	slices.Sort(versions)
	return len(p.devices), len(seenOwner), versions
}

// appIDs is the --app-id mapping of a fleet, as ReadConfig takes it.
func appIDs(f fleetsample.Fleet) map[string]string {
	m := map[string]string{}
	args := fleetsample.AppIDFlags(f)
	for i := 1; i < len(args); i += 2 {
		k, v, _ := strings.Cut(args[i], "=")
		m[k] = v
	}
	return m
}

// TestReadSamples reads every sample export: each is detected as its
// format, holds 50 devices and 20 apps, and the Mixed fleet's exports agree
// with each other on every device's apps and versions.
func TestReadSamples(t *testing.T) {
	want := map[string]string{}
	for name := range fleetsample.Exports() {
		f := fleetsample.Mixed
		if strings.HasPrefix(name, "jamf") {
			f = fleetsample.Apple
		}
		p, err := ReadFile(filepath.Join("testdata", "sample", name), ReadConfig{AppIDs: appIDs(f)})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if wantFormat, _, _ := strings.Cut(name, "."); p.Format != wantFormat {
			t.Errorf("%s read as %s", name, p.Format)
		}
		devices, owners, versions := summary(p)
		apps := map[string]bool{}
		for _, v := range versions {
			f := strings.Fields(v)
			apps[f[0]+" "+f[1]] = true
		}
		t.Logf("%-18s %-12s %d devices, %d owners, %d apps, %d app versions", name, p.Format, devices, owners, len(apps), len(versions))
		if devices != 50 || owners != 40 || len(apps) != 20 {
			t.Errorf("%s: %d devices, %d owners, %d apps: want 50, 40, 20", name, devices, owners, len(apps))
		}
		if f.Name == "mixed" {
			// Every format of the same fleet reads to the same versions.
			key := fmt.Sprint(versions)
			if len(want) > 0 {
				for other, w := range want {
					if w != key {
						t.Errorf("%s and %s disagree:\n%s\n%s", name, other, key, w)
					}
					break
				}
			}
			want[name] = key
		}
		for _, d := range p.devices {
			if strings.Contains(d.device, " ") || d.platform != "android" && d.platform != "ios" {
				t.Errorf("%s: device %q platform %q", name, d.device, d.platform)
			}
		}
	}
}

// TestBadRows: a file with bad rows fails whole, naming each bad row by
// its line, in every format; fixing the rows makes it read.
func TestBadRows(t *testing.T) {
	cases := []struct {
		name, data string
		lines      []int
	}{
		{"intune.csv", "ApplicationName,ApplicationShortVersion,ApplicationVersion,DeviceId,EmailAddress,OSVersion,Platform\r\n" +
			"Acme Field Sales,4.2.0,4207,dev-1,a@x.net,14,Android\r\n" +
			"Acme Field Sales,4.2.0,4207,,b@x.net,14,Android\r\n" + // no device id
			"Acme Field Sales,4.2.0\r\n" + // too few fields
			"Slack,24.1,241,dev-2,c@x.net,14,Android\r\n", []int{3, 4}},
		{"generic.csv", "device_id,platform,owner,app_id,app_name,app_version\n" +
			"d1,android,a@x.net,com.a,A,1\n" +
			"d2,android,,com.b,\"B,1\n" + // a quote never closed
			"d3,android,,com.c,C,1\n", []int{3}},
		{"jamf.json", `{"totalCount": 3, "results": [
  {"id": "1", "type": "ios", "ios": {"applications": [{"identifier": "com.a", "shortVersion": "1"}]}},
  {"id": {"nested": true}, "type": "ios"},
  {"id": "3", "type": "ios", "ios": {"applications": "not a list"}}
]}`, []int{3, 4}},
		{"jamf.csv", "id,udid,os_type,email_address,identifier,application_name,application_short_version\n" +
			"101,U1,iOS,a@x.net,com.a,A,1\n" +
			",,iOS,b@x.net,com.b,B,1\n" + // no id, udid or serial: no device id
			"103,U3,iOS,c@x.net,,,2\n", []int{3, 4}}, // a version with neither an app id nor a name
		{"workspaceone.csv", "DeviceId,Platform,UserEmailAddress,ApplicationName,ApplicationIdentifier,Version\n" +
			"4001,Android,a@x.net,A,com.a,1\n" +
			"4002,Android,b@x.net,B,com.b,1,extra\n", []int{3}},
		{"intune.json", `{"value": [
  {"id": "d1", "operatingSystem": "Android", "detectedApps": [{"displayName": "A", "version": "1"}]},
  {"id": "d2", "operatingSystem": "Android", "detectedApps": {"displayName": "B"}}
]}`, []int{3}},
		{"generic.json", `{"devices": [
  {"id": "d1", "platform": "android", "apps": [{"id": "com.a", "version": "1"}]},
  {"id": "", "platform": "android", "apps": []},
  {"id": true, "platform": "ios"}
]}`, []int{3, 4}},
		{"workspaceone.json", `{"Devices": [
  {"Id": {"Value": 1}, "Platform": "Android", "DeviceApps": [{"ApplicationIdentifier": "com.a", "Version": "1"}]},
  {"Platform": "Android", "DeviceApps": [{"ApplicationIdentifier": "com.b", "Version": "2"}]}
]}`, []int{3}},
	}
	for _, c := range cases {
		_, err := Read(c.name, []byte(c.data), ReadConfig{})
		var fe *FileError
		if !errors.As(err, &fe) {
			t.Errorf("%s: %v, want a FileError", c.name, err)
			continue
		}
		var lines []int
		for _, r := range fe.Rows {
			lines = append(lines, r.Line)
		}
		t.Logf("%s: %v", c.name, err)
		if !slices.Equal(lines, c.lines) {
			t.Errorf("%s: bad lines %v, want %v", c.name, lines, c.lines)
		}
		if !strings.Contains(err.Error(), "nothing imported") {
			t.Errorf("%s: the error does not say nothing was imported: %v", c.name, err)
		}
	}
}

// TestUnknownFormats: files that are no inventory say which columns or
// keys gown looks for; a forced format must fit.
func TestUnknownFormats(t *testing.T) {
	for _, c := range []struct{ name, data, force string }{
		{"a.csv", "name,serial\nx,1\n", ""},
		{"a.json", `{"items": []}`, ""},
		{"b.json", `[{"foo": 1}]`, ""},
		{"c.csv", "device_id,app_id\nd,a\n", "intune"},
		{"d.csv", "device_id,app_id\nd,a\n", "nosuch"},
	} {
		_, err := Read(c.name, []byte(c.data), ReadConfig{Format: c.force})
		if !errors.Is(err, ErrUnknownFormat) {
			t.Errorf("%s: %v, want ErrUnknownFormat", c.name, err)
		}
	}
}

// TestOwnersNeverKept: what an import hands the store holds owners only
// as a keyed hash and a mask, and no device name, user name or e-mail.
func TestOwnersNeverKept(t *testing.T) {
	p, err := ReadFile(filepath.Join("testdata", "sample", "intune.json"), ReadConfig{AppIDs: appIDs(fleetsample.Mixed)})
	if err != nil {
		t.Fatal(err)
	}
	inv := p.Inventory(NewOwners(bytes.Repeat([]byte{7}, 32)))
	other := p.Inventory(NewOwners(bytes.Repeat([]byte{8}, 32)))
	blob := fmt.Sprintf("%+v", inv)
	for _, person := range fleetsample.People {
		for _, v := range []string{person.Email(), person.First + " " + person.Last, person.First + "'s"} {
			if strings.Contains(blob, v) {
				t.Errorf("the inventory to store holds %q", v)
			}
		}
	}
	d := inv.Devices[0]
	if d.Owner == nil || len(d.Owner.Key) != 64 || d.Owner.Masked != "a***@a***.net" {
		t.Errorf("device 1's owner: %+v", d.Owner)
	}
	if other.Devices[0].Owner.Key == d.Owner.Key {
		t.Error("two stores' keys gave the same owner hash")
	}
	var none gown.FleetDevice
	for _, d := range inv.Devices {
		if d.MDMID == "6f1b0007-2c3e-4a5b-9d8e-000000055433" {
			none = d
		}
	}
	if none.MDMID == "" || none.Owner != nil {
		t.Errorf("device 7 has no owner in the export: %+v", none)
	}
}
