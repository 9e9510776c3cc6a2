package fleetsample

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strings"
)

// The sample exports, by file name: each fleet in the formats its MDM
// exports, with the vendors' documented columns and fields.
func Exports() map[string][]byte {
	return map[string][]byte{
		"intune.csv":        IntuneCSV(Mixed),
		"intune.json":       IntuneJSON(Mixed),
		"workspaceone.csv":  WorkspaceONECSV(Mixed),
		"workspaceone.json": WorkspaceONEJSON(Mixed),
		"generic.csv":       GenericCSV(Mixed),
		"generic.json":      GenericJSON(Mixed),
		"jamf.csv":          JamfCSV(Apple),
		"jamf.json":         JamfJSON(Apple),
	}
}

// Ids as each MDM gives them.
func intuneID(n int) string { return fmt.Sprintf("6f1b%04d-2c3e-4a5b-9d8e-%012d", n, n*7919) }
func userID(p int) string   { return fmt.Sprintf("0d4e%04d-77aa-4c1d-b2f3-%012d", p, p*104729) }
func jamfID(n int) string   { return fmt.Sprint(100 + n) }
func ws1ID(n int) int       { return 4000 + n }
func udid(n int) string     { return fmt.Sprintf("00008110-%016X", uint64(n)*2654435761) }
func serial(n int) string   { return fmt.Sprintf("F%02dQX%04dKL", n%97, n*37) }

// GenericID is the generic sample's id of device n.
func GenericID(n int) string { return fmt.Sprintf("dev-%03d", n) }

// deviceName is what people call their devices: it names them, which is
// why gown never reads it.
func deviceName(d Device) string {
	if d.Owner < 0 {
		return fmt.Sprintf("Shared %s %d", d.Model, d.N)
	}
	return fmt.Sprintf("%s's %s", People[d.Owner].First, d.Model)
}

// build is a build number for a version, as iOS CFBundleVersion and
// Android versionCode carry beside the version people read.
func build(v string) string {
	return strings.NewReplacer(".", "", "/", "").Replace(v) + "7"
}

func csvOf(header []string, rows [][]string) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.UseCRLF = true // as Windows tools write them
	w.Write(header)
	w.WriteAll(rows)
	return b.Bytes()
}

func jsonOf(v any) []byte {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		panic(err) // maps and slices of strings: cannot fail
	}
	return append(b, '\n')
}

func person(d Device) (Person, bool) {
	if d.Owner < 0 {
		return Person{}, false
	}
	return People[d.Owner], true
}

// IntuneCSV is the Discovered apps export (AppInvRawData): one row per
// device and app.
func IntuneCSV(f Fleet) []byte {
	header := []string{"ApplicationKey", "ApplicationName", "ApplicationPublisher", "ApplicationShortVersion", "ApplicationVersion",
		"DeviceId", "DeviceName", "EmailAddress", "OSDescription", "OSVersion", "Platform", "UserId", "UserName"}
	var rows [][]string
	for _, d := range f.Devices {
		p, owned := person(d)
		email, uid, uname := "", "", ""
		if owned {
			email, uid, uname = p.Email(), userID(d.Owner), p.First+" "+p.Last
		}
		plat, osDesc := "Android", "Android "+d.OSVersion
		if d.Platform == "ios" {
			plat, osDesc = "iOS/iPadOS", "iOS "+d.OSVersion
		}
		for _, in := range f.Installs(d) {
			rows = append(rows, []string{fmt.Sprintf("%x", len(rows)*7+0x5a00), in.App.Name, publisher(in.App), in.Version, build(in.Version),
				intuneID(d.N), deviceName(d), email, osDesc, d.OSVersion, plat, uid, uname})
		}
	}
	return csvOf(header, rows)
}

func publisher(a App) string {
	switch {
	case strings.HasPrefix(a.ID, "com.acme."):
		return "Acme Corp"
	case strings.Contains(a.ID, "microsoft"):
		return "Microsoft Corporation"
	case strings.Contains(a.ID, "google"):
		return "Google LLC"
	}
	return ""
}

// IntuneJSON is Graph's managedDevices with $expand=detectedApps.
func IntuneJSON(f Fleet) []byte {
	var devs []map[string]any
	for _, d := range f.Devices {
		p, owned := person(d)
		os := "Android"
		if d.Platform == "ios" {
			os = "iOS"
		}
		dev := map[string]any{"id": intuneID(d.N), "deviceName": deviceName(d), "operatingSystem": os, "osVersion": d.OSVersion,
			"model": d.Model, "manufacturer": manufacturer(d), "managedDeviceOwnerType": "company", "serialNumber": serial(d.N),
			"emailAddress": "", "userPrincipalName": "", "userId": "", "userDisplayName": ""}
		if owned {
			dev["emailAddress"], dev["userPrincipalName"], dev["userId"], dev["userDisplayName"] = p.Email(), p.Email(), userID(d.Owner), p.First+" "+p.Last
		}
		var apps []map[string]any
		for i, in := range f.Installs(d) {
			platform := "androidWorkProfile"
			if d.Platform == "ios" {
				platform = "ios"
			}
			apps = append(apps, map[string]any{"id": fmt.Sprintf("%064x", d.N*1000+i), "displayName": in.App.Name, "version": in.Version,
				"sizeInByte": 0, "deviceCount": 0, "publisher": publisher(in.App), "platform": platform})
		}
		dev["detectedApps"] = apps
		devs = append(devs, dev)
	}
	return jsonOf(map[string]any{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#deviceManagement/managedDevices(detectedApps())",
		"value": devs})
}

func manufacturer(d Device) string {
	switch {
	case d.Platform == "ios":
		return "Apple"
	case strings.HasPrefix(d.Model, "Pixel"):
		return "Google"
	case strings.HasPrefix(d.Model, "Galaxy"):
		return "samsung"
	}
	return "motorola"
}

// WorkspaceONECSV is one row per device and app under the UEM API's
// field names.
func WorkspaceONECSV(f Fleet) []byte {
	header := []string{"DeviceId", "Udid", "SerialNumber", "DeviceFriendlyName", "UserName", "UserEmailAddress", "Platform", "Model",
		"OperatingSystem", "ApplicationName", "ApplicationIdentifier", "Version", "BuildVersion", "Status", "IsManaged"}
	var rows [][]string
	for _, d := range f.Devices {
		uname, email := ws1User(d)
		for _, in := range f.Installs(d) {
			rows = append(rows, []string{fmt.Sprint(ws1ID(d.N)), udid(d.N), serial(d.N), deviceName(d), uname, email, ws1Platform(d), d.Model,
				d.OSVersion, in.App.Name, in.App.ID, in.Version, build(in.Version), "Installed", fmt.Sprint(strings.HasPrefix(in.App.ID, "com.acme."))})
		}
	}
	return csvOf(header, rows)
}

func ws1User(d Device) (string, string) {
	p, owned := person(d)
	if !owned {
		return "", ""
	}
	return p.Username(), p.Email()
}

func ws1Platform(d Device) string {
	if d.Platform == "ios" {
		return "Apple"
	}
	return "Android"
}

// WorkspaceONEJSON is devices/search with each device's devices/{id}/apps
// answer folded in.
func WorkspaceONEJSON(f Fleet) []byte {
	var devs []map[string]any
	for _, d := range f.Devices {
		uname, email := ws1User(d)
		var apps []map[string]any
		for _, in := range f.Installs(d) {
			apps = append(apps, map[string]any{"ApplicationName": in.App.Name, "Version": in.Version, "BuildVersion": build(in.Version),
				"Status": 2, "Size": "0", "ApplicationIdentifier": in.App.ID, "Type": "Internal", "IsManaged": strings.HasPrefix(in.App.ID, "com.acme.")})
		}
		devs = append(devs, map[string]any{"Id": map[string]any{"Value": ws1ID(d.N)}, "Udid": udid(d.N), "SerialNumber": serial(d.N),
			"DeviceFriendlyName": deviceName(d), "UserName": uname, "UserEmailAddress": email, "Ownership": "C", "Platform": ws1Platform(d),
			"Model": d.Model, "OperatingSystem": d.OSVersion, "EnrollmentStatus": "Enrolled", "DeviceApps": apps})
	}
	return jsonOf(map[string]any{"Devices": devs, "Page": 0, "PageSize": 500, "Total": len(devs)})
}

// JamfCSV is one row per device and app under the Classic API's field
// names.
func JamfCSV(f Fleet) []byte {
	header := []string{"id", "display_name", "serial_number", "udid", "model", "os_type", "os_version", "username", "realname",
		"email_address", "application_name", "application_version", "application_short_version", "identifier"}
	var rows [][]string
	for _, d := range f.Devices {
		p, owned := person(d)
		uname, real, email := "", "", ""
		if owned {
			uname, real, email = p.Username(), p.First+" "+p.Last, p.Email()
		}
		for _, in := range f.Installs(d) {
			rows = append(rows, []string{jamfID(d.N), deviceName(d), serial(d.N), udid(d.N), d.Model, "iOS", d.OSVersion, uname, real, email,
				in.App.Name, build(in.Version), in.Version, in.App.ID})
		}
	}
	return csvOf(header, rows)
}

// JamfJSON is the Jamf Pro API's mobile device details, paged.
func JamfJSON(f Fleet) []byte {
	var devs []map[string]any
	for _, d := range f.Devices {
		p, owned := person(d)
		loc := map[string]any{"username": "", "realName": "", "emailAddress": "", "position": "", "phoneNumber": ""}
		if owned {
			loc["username"], loc["realName"], loc["emailAddress"] = p.Username(), p.First+" "+p.Last, p.Email()
		}
		var apps []map[string]any
		for _, in := range f.Installs(d) {
			apps = append(apps, map[string]any{"identifier": in.App.ID, "name": in.App.Name, "version": build(in.Version), "shortVersion": in.Version})
		}
		devs = append(devs, map[string]any{"id": jamfID(d.N), "name": deviceName(d), "serialNumber": serial(d.N), "udid": udid(d.N),
			"osVersion": d.OSVersion, "managed": true, "type": "ios", "location": loc,
			"ios": map[string]any{"model": d.Model, "modelIdentifier": "", "supervised": true, "applications": apps}})
	}
	return jsonOf(map[string]any{"totalCount": len(devs), "results": devs})
}

// GenericCSV is gown's own CSV.
func GenericCSV(f Fleet) []byte {
	header := []string{"device_id", "platform", "model", "os_version", "owner", "app_id", "app_name", "app_version"}
	var rows [][]string
	for _, d := range f.Devices {
		owner := ""
		if p, ok := person(d); ok {
			owner = p.Email()
		}
		for _, in := range f.Installs(d) {
			rows = append(rows, []string{GenericID(d.N), d.Platform, d.Model, d.OSVersion, owner, in.App.ID, in.App.Name, in.Version})
		}
	}
	return csvOf(header, rows)
}

// GenericJSON is gown's own JSON.
func GenericJSON(f Fleet) []byte {
	var devs []map[string]any
	for _, d := range f.Devices {
		owner := ""
		if p, ok := person(d); ok {
			owner = p.Email()
		}
		var apps []map[string]any
		for _, in := range f.Installs(d) {
			apps = append(apps, map[string]any{"id": in.App.ID, "name": in.App.Name, "version": in.Version})
		}
		devs = append(devs, map[string]any{"id": GenericID(d.N), "platform": d.Platform, "model": d.Model, "os_version": d.OSVersion,
			"owner": owner, "apps": apps})
	}
	return jsonOf(map[string]any{"devices": devs})
}

// AppIDFlags are the --app-id mappings an Intune export needs: Intune
// names discovered apps by display name, and two of the in-house apps share
// one across platforms.
func AppIDFlags(f Fleet) []string {
	var out []string
	for _, a := range f.Apps {
		out = append(out, "--app-id", a.Platform+"/"+a.Name+"="+a.ID)
	}
	return out
}
