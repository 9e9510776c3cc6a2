package fleet

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Format names, as --format takes them and the store's device source
// records them.
const (
	FormatIntune       = "intune"
	FormatJamf         = "jamf"
	FormatWorkspaceONE = "workspaceone"
	FormatGeneric      = "generic"
)

// Formats lists the formats gown reads.
var Formats = []string{FormatIntune, FormatJamf, FormatWorkspaceONE, FormatGeneric}

// csvFormat is one vendor's CSV layout: the columns that identify it, and
// for each field gown keeps the columns it may come from, the first
// non-empty one winning. Column names are matched case-insensitively.
type csvFormat struct {
	name string
	// requires are columns every file of the format has; the first format
	// whose requires a header holds is the file's format.
	requires                                                           []string
	device, platform, model, osVersion, owner, appID, appName, version []string
	// platform is the platform of every row when the format has no column
	// for it (Jamf Pro manages Apple devices only).
	defaultPlatform string
}

// csvFormats are the CSV layouts, most specific first. Each names where its
// columns are documented; docs/fleet.md lists the same sources.
var csvFormats = []csvFormat{{
	// Workspace ONE UEM: one row per device and app, the columns named as
	// the UEM REST API's fields are (MDM API v1: the Device model for
	// devices/search — Id, Udid, SerialNumber, DeviceFriendlyName,
	// UserName, UserEmailAddress, Platform, Model, OperatingSystem — and
	// DeviceApplicationInfo for devices/{id}/apps — ApplicationName,
	// Version, BuildVersion, ApplicationIdentifier "i.e. Bundle Id or
	// Package Id", Status, Type, IsManaged), as the UEM API reference and
	// its generated clients (mrpaws/awtest mdm/v1/docs/Device.md,
	// DeviceApplicationInfo.md) document them. The console's own CSV exports
	// label columns for reading; their labels are not publicly documented,
	// so gown reads the API's names. DeviceFriendlyName is not read.
	name:      FormatWorkspaceONE,
	requires:  []string{"ApplicationIdentifier", "UserEmailAddress"},
	device:    []string{"DeviceId", "Id", "Udid", "SerialNumber"},
	platform:  []string{"Platform"},
	model:     []string{"Model"},
	osVersion: []string{"OperatingSystem"},
	owner:     []string{"UserEmailAddress", "UserName"},
	appID:     []string{"ApplicationIdentifier"},
	appName:   []string{"ApplicationName"},
	version:   []string{"Version", "BuildVersion"},
}, {
	// Microsoft Intune, Apps > Monitor > Discovered apps > Export, the
	// AppInvRawData report (and AppInvByDevice, which adds ApplicationId):
	// columns as "Intune reports and properties available using Graph API"
	// (learn.microsoft.com/intune/intune-service/fundamentals/
	// reports-export-graph-available-reports; MicrosoftDocs/memdocs) lists
	// them: ApplicationKey, ApplicationName, ApplicationPublisher,
	// ApplicationShortVersion, ApplicationVersion, DeviceId, DeviceName,
	// EmailAddress, OSDescription, OSVersion, Platform, UserId, UserName.
	// The raw data has no bundle id column: ApplicationId when present,
	// else the name (and --app-id maps names to ids). UserName is a display
	// name and DeviceName often holds one: neither is read.
	name:      FormatIntune,
	requires:  []string{"ApplicationName", "DeviceId", "Platform"},
	device:    []string{"DeviceId"},
	platform:  []string{"Platform"},
	osVersion: []string{"OSVersion"},
	owner:     []string{"EmailAddress", "UserId"},
	appID:     []string{"ApplicationId"},
	appName:   []string{"ApplicationName"},
	version:   []string{"ApplicationShortVersion", "ApplicationVersion"},
}, {
	// Jamf Pro: one row per device and app, the columns named as the Classic
	// API's mobile device record names its fields (JSSResource/mobiledevices/
	// id/{id}, developer.jamf.com/jamf-pro/reference/mobiledevices: general —
	// id, serial_number, udid, model, os_type, os_version; location —
	// username, realname, email_address; applications — application_name,
	// application_version, application_short_version, identifier). Jamf
	// Pro's inventory CSV exports label columns by the display names an
	// advanced search chooses, which Jamf does not publish as a fixed list.
	// realname is not read.
	name:            FormatJamf,
	requires:        []string{"identifier", "application_name"},
	device:          []string{"id", "udid", "serial_number"},
	platform:        []string{"os_type"},
	model:           []string{"model"},
	osVersion:       []string{"os_version"},
	owner:           []string{"email_address", "username"},
	appID:           []string{"identifier"},
	appName:         []string{"application_name"},
	version:         []string{"application_short_version", "application_version"},
	defaultPlatform: "ios",
}, {
	// gown's own CSV (docs/fleet.md): one row per device and app; a device
	// with no app has empty app columns. owner is an e-mail address or a
	// user name.
	name:      FormatGeneric,
	requires:  []string{"device_id", "app_id"},
	device:    []string{"device_id"},
	platform:  []string{"platform"},
	model:     []string{"model"},
	osVersion: []string{"os_version"},
	owner:     []string{"owner"},
	appID:     []string{"app_id"},
	appName:   []string{"app_name"},
	version:   []string{"app_version"},
}}

// readCSV reads a CSV inventory. Structural errors (a row with the wrong
// number of fields, a broken quote) are row errors with their line, like a
// missing device id; the rest of the file is still checked.
func readCSV(data []byte, force string) (string, []record, []RowError, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = 0 // every row as long as the header
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil {
		return "", nil, nil, fmt.Errorf("no CSV header: %w", err)
	}
	cols := map[string]int{}
	for i, h := range header {
		cols[strings.ToLower(strings.TrimSpace(h))] = i
	}
	f, err := pickCSV(cols, force)
	if err != nil {
		return "", nil, nil, err
	}
	get := func(row []string, names []string) string {
		for _, n := range names {
			if i, ok := cols[strings.ToLower(n)]; ok && i < len(row) && strings.TrimSpace(row[i]) != "" {
				return row[i]
			}
		}
		return ""
	}
	var recs []record
	var bad []RowError
	for {
		row, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			bad = append(bad, RowError{pe.StartLine, pe.Err.Error()})
			if errors.Is(pe.Err, csv.ErrFieldCount) {
				continue
			}
			return f.name, recs, bad, nil // a broken quote: the rest cannot be split into rows
		}
		if err != nil {
			return "", nil, nil, err
		}
		if len(row) == 1 && strings.TrimSpace(row[0]) == "" {
			continue
		}
		line, _ := r.FieldPos(0) // of the row just read: only after a successful Read
		rec := record{line: line, device: get(row, f.device), platform: get(row, f.platform), model: get(row, f.model),
			osVersion: get(row, f.osVersion), owner: get(row, f.owner), appID: get(row, f.appID), appName: get(row, f.appName),
			version: get(row, f.version)}
		if rec.platform == "" {
			rec.platform = f.defaultPlatform
		}
		recs = append(recs, rec)
	}
	return f.name, recs, bad, nil
}

// pickCSV finds the format a header belongs to, or checks the forced one.
func pickCSV(cols map[string]int, force string) (csvFormat, error) {
	has := func(f csvFormat) bool {
		for _, c := range f.requires {
			if _, ok := cols[strings.ToLower(c)]; !ok {
				return false
			}
		}
		return true
	}
	if force != "" {
		i := slices.IndexFunc(csvFormats, func(f csvFormat) bool { return f.name == force })
		if i < 0 {
			return csvFormat{}, fmt.Errorf("%w: format %q (want one of %s)", ErrUnknownFormat, force, strings.Join(Formats, ", "))
		}
		if !has(csvFormats[i]) {
			return csvFormat{}, fmt.Errorf("%w: a %s CSV needs the columns %s", ErrUnknownFormat, force, strings.Join(csvFormats[i].requires, ", "))
		}
		return csvFormats[i], nil
	}
	for _, f := range csvFormats {
		if has(f) {
			return f, nil
		}
	}
	return csvFormat{}, fmt.Errorf("%w: the CSV header names none of the formats' columns (Intune: ApplicationName, DeviceId, Platform; "+
		"Workspace ONE: ApplicationIdentifier, UserEmailAddress; Jamf: identifier, application_name; generic: device_id, app_id)", ErrUnknownFormat)
}
