package fleet

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// The JSON inventories are the vendors' API answers, saved to a file:
//
//   - Intune: Microsoft Graph v1.0 GET /deviceManagement/managedDevices with
//     $expand=detectedApps: {"value": [managedDevice]}, each managedDevice
//     (learn.microsoft.com/graph/api/resources/intune-devices-manageddevice:
//     id, deviceName, operatingSystem, osVersion, model, emailAddress,
//     userPrincipalName, userId, userDisplayName) with its detectedApps
//     (resources/intune-devices-detectedapp: id, displayName, version,
//     sizeInByte, deviceCount, publisher, platform). A detectedApp has no
//     bundle id: displayName, mapped by --app-id. deviceName and
//     userDisplayName are not read.
//   - Jamf Pro: the Jamf Pro API's mobile device details, GET
//     /api/v2/mobile-devices/{id}/detail (schema MobileDeviceDetailsV2:
//     id, name, serialNumber, udid, osVersion, type; location: username,
//     realName, emailAddress; ios: model, applications [identifier, name,
//     version, shortVersion]), as an array or as the paged {"totalCount",
//     "results"} of its list endpoints. name and realName are not read.
//   - Workspace ONE UEM: GET /api/mdm/devices/search ({"Devices": [Device]}:
//     Id.Value, Udid, SerialNumber, Platform, Model, OperatingSystem,
//     UserName, UserEmailAddress) with each device's GET
//     /api/mdm/devices/{id}/apps answer ({"DeviceApps": [ApplicationName,
//     ApplicationIdentifier, Version, BuildVersion, ...]}) put in the
//     device's object as "DeviceApps". DeviceFriendlyName is not read.
//   - generic: {"devices": [{"id", "platform", "model", "os_version",
//     "owner", "apps": [{"id", "name", "version"}]}]}.

// flexID reads an id given as a JSON string or number.
type flexID string

func (f *flexID) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*f = flexID(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("an id is neither a string nor a number: %s", b)
	}
	*f = flexID(n.String())
	return nil
}

type intuneDevice struct {
	ID                string `json:"id"`
	OperatingSystem   string `json:"operatingSystem"`
	OSVersion         string `json:"osVersion"`
	Model             string `json:"model"`
	EmailAddress      string `json:"emailAddress"`
	UserPrincipalName string `json:"userPrincipalName"`
	UserID            string `json:"userId"`
	DetectedApps      []struct {
		DisplayName string `json:"displayName"`
		Version     string `json:"version"`
	} `json:"detectedApps"`
}

type jamfDevice struct {
	ID           flexID `json:"id"`
	Udid         string `json:"udid"`
	SerialNumber string `json:"serialNumber"`
	OSVersion    string `json:"osVersion"`
	Type         string `json:"type"`
	Location     struct {
		Username     string `json:"username"`
		EmailAddress string `json:"emailAddress"`
	} `json:"location"`
	IOS struct {
		Model        string `json:"model"`
		Applications []struct {
			Identifier   string `json:"identifier"`
			Name         string `json:"name"`
			Version      string `json:"version"`
			ShortVersion string `json:"shortVersion"`
		} `json:"applications"`
	} `json:"ios"`
}

type ws1Device struct {
	ID struct {
		Value flexID `json:"Value"`
	} `json:"Id"`
	Udid             string `json:"Udid"`
	SerialNumber     string `json:"SerialNumber"`
	Platform         string `json:"Platform"`
	Model            string `json:"Model"`
	OperatingSystem  string `json:"OperatingSystem"`
	UserName         string `json:"UserName"`
	UserEmailAddress string `json:"UserEmailAddress"`
	DeviceApps       []struct {
		ApplicationName       string `json:"ApplicationName"`
		ApplicationIdentifier string `json:"ApplicationIdentifier"`
		Version               string `json:"Version"`
		BuildVersion          string `json:"BuildVersion"`
	} `json:"DeviceApps"`
}

type genericDevice struct {
	ID        flexID `json:"id"`
	Platform  string `json:"platform"`
	Model     string `json:"model"`
	OSVersion string `json:"os_version"`
	Owner     string `json:"owner"`
	Apps      []struct {
		ID      string `json:"id"`
		Name    string `json:"name"`
		Version string `json:"version"`
	} `json:"apps"`
}

// jsonFormats maps a format to the key of its device list in the top-level
// object ("" for a top-level array) and how one device becomes records.
var jsonFormats = map[string]struct {
	lists  []string
	decode func(raw []byte, line int) ([]record, error)
}{
	FormatIntune:       {[]string{"value"}, decodeInto(intuneRecords)},
	FormatJamf:         {[]string{"results", ""}, decodeInto(jamfRecords)},
	FormatWorkspaceONE: {[]string{"Devices", ""}, decodeInto(ws1Records)},
	FormatGeneric:      {[]string{"devices"}, decodeInto(genericRecords)},
}

func decodeInto[T any](fn func(T, int) []record) func([]byte, int) ([]record, error) {
	return func(raw []byte, line int) ([]record, error) {
		var v T
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, err
		}
		return fn(v, line), nil
	}
}

func intuneRecords(d intuneDevice, line int) []record {
	base := record{line: line, device: d.ID, platform: d.OperatingSystem, model: d.Model, osVersion: d.OSVersion,
		owner: first(d.EmailAddress, d.UserPrincipalName, d.UserID)}
	out := []record{base}
	for _, a := range d.DetectedApps {
		r := base
		r.appName, r.version = a.DisplayName, a.Version
		out = append(out, r)
	}
	return out
}

func jamfRecords(d jamfDevice, line int) []record {
	base := record{line: line, device: first(string(d.ID), d.Udid, d.SerialNumber), platform: first(d.Type, "ios"), model: d.IOS.Model,
		osVersion: d.OSVersion, owner: first(d.Location.EmailAddress, d.Location.Username)}
	out := []record{base}
	for _, a := range d.IOS.Applications {
		r := base
		r.appID, r.appName, r.version = a.Identifier, a.Name, first(a.ShortVersion, a.Version)
		out = append(out, r)
	}
	return out
}

func ws1Records(d ws1Device, line int) []record {
	base := record{line: line, device: first(string(d.ID.Value), d.Udid, d.SerialNumber), platform: d.Platform, model: d.Model,
		osVersion: d.OperatingSystem, owner: first(d.UserEmailAddress, d.UserName)}
	out := []record{base}
	for _, a := range d.DeviceApps {
		r := base
		r.appID, r.appName, r.version = a.ApplicationIdentifier, a.ApplicationName, first(a.Version, a.BuildVersion)
		out = append(out, r)
	}
	return out
}

func genericRecords(d genericDevice, line int) []record {
	base := record{line: line, device: string(d.ID), platform: d.Platform, model: d.Model, osVersion: d.OSVersion, owner: d.Owner}
	out := []record{base}
	for _, a := range d.Apps {
		r := base
		r.appID, r.appName, r.version = a.ID, a.Name, a.Version
		out = append(out, r)
	}
	return out
}

func first(vs ...string) string {
	for _, v := range vs {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}

// readJSON reads a JSON inventory: it finds the device list, then decodes
// each device on its own so that a bad one is reported with its line and
// the others are still checked.
func readJSON(data []byte, force string) (string, []record, []RowError, error) {
	format, list, listAt, err := findList(data, force)
	if err != nil {
		return "", nil, nil, err
	}
	lines := lineIndex(data)
	dec := json.NewDecoder(bytes.NewReader(list))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return "", nil, nil, fmt.Errorf("the device list is not a JSON array")
	}
	var recs []record
	var bad []RowError
	for dec.More() {
		at := listAt + skipSpace(list, int(dec.InputOffset()))
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return "", nil, nil, fmt.Errorf("line %d: %w", lines(at), err)
		}
		rs, err := jsonFormats[format].decode(raw, lines(at))
		if err != nil {
			bad = append(bad, RowError{lines(at), "device: " + jsonErr(err)})
			continue
		}
		recs = append(recs, rs...)
	}
	return format, recs, bad, nil
}

// findList returns the format and the device array of a JSON inventory with
// its offset in data. Without a forced format the top-level keys decide:
// "value" (Intune's Graph answer), "results" (Jamf Pro's paged list),
// "Devices" (Workspace ONE), "devices" (generic); a top-level array is
// Jamf's or Workspace ONE's, told apart by its first device's keys.
func findList(data []byte, force string) (string, []byte, int, error) {
	start := skipSpace(data, 0)
	if start < len(data) && data[start] == '[' {
		format := force
		if format == "" {
			var probe []map[string]json.RawMessage
			dec := json.NewDecoder(bytes.NewReader(data))
			if err := dec.Decode(&probe); err != nil {
				return "", nil, 0, fmt.Errorf("not JSON: %w", err)
			}
			switch {
			case len(probe) > 0 && has(probe[0], "DeviceApps", "Udid", "UserEmailAddress"):
				format = FormatWorkspaceONE
			case len(probe) > 0 && has(probe[0], "ios", "udid", "location"):
				format = FormatJamf
			default:
				return "", nil, 0, fmt.Errorf("%w: a JSON array of neither Jamf Pro's nor Workspace ONE's devices", ErrUnknownFormat)
			}
		}
		if f, ok := jsonFormats[format]; !ok || !slices.Contains(f.lists, "") {
			return "", nil, 0, fmt.Errorf("%w: %s JSON is not a top-level array", ErrUnknownFormat, format)
		}
		return format, data[start:], start, nil
	}
	// A top-level object: walk its keys, keeping where each value starts.
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return "", nil, 0, fmt.Errorf("not a JSON object or array")
	}
	vals := map[string][2]int{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return "", nil, 0, fmt.Errorf("not JSON: %w", err)
		}
		key, _ := tok.(string)
		from := skipSpace(data, int(dec.InputOffset()))
		if from < len(data) && data[from] == ':' {
			from = skipSpace(data, from+1)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return "", nil, 0, fmt.Errorf("not JSON: %w", err)
		}
		vals[key] = [2]int{from, from + len(raw)}
	}
	for _, format := range []string{FormatIntune, FormatJamf, FormatWorkspaceONE, FormatGeneric} {
		if force != "" && force != format {
			continue
		}
		for _, k := range jsonFormats[format].lists {
			if v, ok := vals[k]; ok && k != "" {
				return format, data[v[0]:v[1]], v[0], nil
			}
		}
	}
	if force != "" {
		if _, ok := jsonFormats[force]; !ok {
			return "", nil, 0, fmt.Errorf("%w: format %q (want one of %s)", ErrUnknownFormat, force, strings.Join(Formats, ", "))
		}
		return "", nil, 0, fmt.Errorf("%w: no %s device list (%s) in the JSON", ErrUnknownFormat, force, strings.Join(jsonFormats[force].lists, ", "))
	}
	return "", nil, 0, fmt.Errorf("%w: a JSON object with none of the keys value (Intune), results (Jamf Pro), Devices (Workspace ONE), devices (generic)", ErrUnknownFormat)
}

func has(m map[string]json.RawMessage, keys ...string) bool {
	for _, k := range keys {
		if _, ok := m[k]; ok {
			return true
		}
	}
	return false
}

// skipSpace returns the offset of the first byte at or after i that is not
// JSON whitespace or a separator.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n' || b[i] == ',') {
		i++
	}
	return i
}

// lineIndex returns a function from byte offset to 1-based line.
func lineIndex(data []byte) func(int) int {
	var starts []int
	for i, c := range data {
		if c == '\n' {
			starts = append(starts, i)
		}
	}
	return func(off int) int {
		lo, hi := 0, len(starts)
		for lo < hi {
			m := (lo + hi) / 2
			if starts[m] < off {
				lo = m + 1
			} else {
				hi = m
			}
		}
		return lo + 1
	}
}

// jsonErr says a decoding error in the export's terms: which field holds
// what, rather than the Go type gown decodes it into.
func jsonErr(err error) string {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		return err.Error()
	}
	want := "a " + te.Type.Kind().String()
	switch te.Type.Kind() {
	case reflect.Slice, reflect.Array:
		want = "a list"
	case reflect.Struct, reflect.Map:
		want = "an object"
	case reflect.String:
		want = "a string"
	}
	field := te.Field
	if field == "" {
		field = "the device"
	}
	return fmt.Sprintf("%s holds a JSON %s where the format has %s", field, te.Value, want)
}
