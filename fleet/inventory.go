// Package fleet turns an enterprise's app inventory into "which apps,
// devices and people are exposed": it reads the app inventories MDMs export
// (Microsoft Intune, Jamf Pro, Workspace ONE UEM, and gown's own generic
// CSV and JSON; formats.go cites each vendor's documentation), keeps them
// in the results store, runs one pipeline scan over the binaries of the
// inventory's apps (Scan), and reads the fleet report back (the writers in
// report.go).
//
// Personal data: owners are kept as a keyed hash and a masked form
// (Owners), device names are not kept at all; docs/fleet.md says why.
package fleet

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/gownscan/gown"
)

// MaxFile caps an inventory file: an export of a hundred thousand devices
// with fifty apps each is a few hundred megabytes of CSV; more is a mistake.
const MaxFile = 1 << 30

// ReadConfig sets how inventory files are read.
type ReadConfig struct {
	// Format forces a format by name ("intune", "jamf", "workspaceone",
	// "generic"); empty detects it from the file's header or keys.
	Format string
	// AppIDs maps an app's display name to its package or bundle id, for
	// exports that name apps by display name only (Intune's discovered apps
	// carry no bundle id): "Field Sales" → "com.acme.fieldsales". A key
	// "android/Field Sales" applies to one platform and wins over the bare
	// name.
	AppIDs map[string]string
}

// record is one (device, app) of an export as read, before the owner is
// hashed: the raw identifier lives only in memory, during an import.
type record struct {
	line                               int
	device, platform, model, osVersion string
	owner                              string
	appID, appName, version            string
}

// RowError is one bad row of a file.
type RowError struct {
	Line int
	Msg  string
}

func (e RowError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// FileError lists every bad row of one inventory file. A file with bad rows
// imports nothing: see Import.
type FileError struct {
	File   string
	Format string
	Rows   []RowError
}

// maxRowErrors caps the bad rows a FileError lists; it says how many more.
const maxRowErrors = 20

func (e *FileError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): %d bad rows, nothing imported from it", e.File, e.Format, len(e.Rows))
	for i, r := range e.Rows {
		if i == maxRowErrors {
			fmt.Fprintf(&b, "\n  … and %d more", len(e.Rows)-i)
			break
		}
		fmt.Fprintf(&b, "\n  %s", r)
	}
	return b.String()
}

// ErrUnknownFormat means a file matched no inventory format.
var ErrUnknownFormat = errors.New("not an inventory gown knows")

// Parsed is one inventory file read: its format and its rows, grouped by
// device in the file's order. Owners are still raw identifiers.
type Parsed struct {
	File    string
	Format  string
	devices []*device
}

type device struct {
	record // the device's fields from its first row
	apps   []gown.InstalledApp
}

// Devices counts the devices read.
func (p *Parsed) Devices() int { return len(p.devices) }

// ReadFile reads one inventory file. A file with any bad row is a
// *FileError listing them all with their lines.
func ReadFile(path string, cfg ReadConfig) (*Parsed, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Size() > MaxFile {
		return nil, fmt.Errorf("%s: %d bytes: more than an inventory (%d at most)", path, st.Size(), MaxFile)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Read(path, data, cfg)
}

// Read reads one inventory held in data; name is how errors call it.
func Read(name string, data []byte, cfg ReadConfig) (*Parsed, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // Excel's CSVs start with a BOM
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	var recs []record
	var format string
	var rowErrs []RowError
	var err error
	if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		format, recs, rowErrs, err = readJSON(data, cfg.Format)
	} else {
		format, recs, rowErrs, err = readCSV(data, cfg.Format)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	p := &Parsed{File: name, Format: format}
	byID := map[string]*device{}
	for _, r := range recs {
		if msg := p.normalize(&r, cfg); msg != "" {
			rowErrs = append(rowErrs, RowError{r.line, msg})
			continue
		}
		d := byID[r.device]
		if d == nil {
			d = &device{record: r}
			byID[r.device] = d
			p.devices = append(p.devices, d)
		}
		fillEmpty(&d.record, r)
		if r.appID != "" {
			d.apps = append(d.apps, gown.InstalledApp{ID: r.appID, Name: r.appName, Version: r.version})
		}
	}
	if len(rowErrs) > 0 {
		// One error per line and reason (a JSON device's apps share its
		// line), in the file's order.
		slices.SortStableFunc(rowErrs, func(a, b RowError) int { return cmp.Compare(a.Line, b.Line) })
		rowErrs = slices.Compact(rowErrs)
		return nil, &FileError{File: name, Format: format, Rows: rowErrs}
	}
	return p, nil
}

// normalize checks one row and puts its fields in gown's terms; a non-empty
// answer says why the row is bad.
func (p *Parsed) normalize(r *record, cfg ReadConfig) string {
	for _, f := range []*string{&r.device, &r.platform, &r.model, &r.osVersion, &r.owner, &r.appID, &r.appName, &r.version} {
		*f = strings.TrimSpace(*f)
	}
	switch {
	case r.device == "":
		return "no device id"
	case len(r.device) > 256 || len(r.appID) > 256 || len(r.version) > 128:
		return "a device id, app id or version longer than any real one"
	}
	r.platform = string(platformOf(r.platform))
	if r.appID == "" && r.appName != "" {
		// Named by display name only: --app-id says which id it is,
		// "platform/name" before "name"; unmapped, the name stands in.
		r.appID = r.appName
		if id, ok := cfg.AppIDs[r.platform+"/"+r.appName]; ok {
			r.appID = id
		} else if id, ok := cfg.AppIDs[r.appName]; ok {
			r.appID = id
		}
	}
	if r.appID == "" && (r.version != "" || r.appName != "") {
		return "an app row with neither an app id nor a name"
	}
	return ""
}

// fillEmpty takes the device fields a later row of the same device gives
// when the first did not.
func fillEmpty(d *record, r record) {
	for _, f := range [][2]*string{{&d.platform, &r.platform}, {&d.model, &r.model}, {&d.osVersion, &r.osVersion}, {&d.owner, &r.owner}} {
		if *f[0] == "" {
			*f[0] = *f[1]
		}
	}
}

// platformOf maps the platform names MDMs use to gown's: Intune's
// "Android", "androidWorkProfile", "iOS", "iPadOS"; Jamf's "ios" and
// "iOS"; Workspace ONE's "Apple" and "Android". Others (Windows, macOS)
// are kept, lower-cased: a fleet scan reads Android and iOS binaries only.
func platformOf(s string) gown.Platform {
	l := strings.ToLower(strings.TrimSpace(s))
	switch {
	case strings.Contains(l, "android"):
		return gown.PlatformAndroid
	case l == "apple" || strings.HasPrefix(l, "ios") || strings.HasPrefix(l, "ipados") || strings.HasPrefix(l, "iphone") || strings.HasPrefix(l, "ipad"):
		return gown.PlatformIOS
	}
	return gown.Platform(l)
}

// Inventory hashes the owners with o and returns the inventory to store.
func (p *Parsed) Inventory(o *Owners) gown.FleetInventory {
	inv := gown.FleetInventory{Source: p.Format}
	for _, d := range p.devices {
		inv.Devices = append(inv.Devices, gown.FleetDevice{Source: p.Format, MDMID: d.device, Platform: gown.Platform(d.platform),
			Model: d.model, OSVersion: d.osVersion, Owner: o.Ref(d.owner), Apps: d.apps})
	}
	return inv
}

// ImportResult is what one file's import did.
type ImportResult struct {
	File   string
	Format string
	Stats  gown.ImportStats
}

// Import reads each file and stores it, one transaction per file. Every
// file is read before anything is stored: a file with bad rows fails the
// import with a *FileError per file naming each row, and nothing is
// stored from any file, so a fix-and-rerun never leaves half an inventory.
// Re-importing updates (gown.FleetStore.ImportInventory).
func Import(ctx context.Context, st gown.FleetStore, files []string, cfg ReadConfig) ([]ImportResult, error) {
	var parsed []*Parsed
	var errs []error
	for _, f := range files {
		p, err := ReadFile(f, cfg)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		parsed = append(parsed, p)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	key, err := st.OwnerKey(ctx)
	if err != nil {
		return nil, err
	}
	owners := NewOwners(key)
	var out []ImportResult
	for _, p := range parsed {
		stats, err := st.ImportInventory(ctx, p.Inventory(owners))
		if err != nil {
			return out, fmt.Errorf("%s: %w", p.File, err)
		}
		out = append(out, ImportResult{File: p.File, Format: p.Format, Stats: stats})
	}
	return out, nil
}
