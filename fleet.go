package gown

import (
	"context"
	"time"
)

// A fleet is what an enterprise's MDM knows: devices, their owners, and
// the apps (by package or bundle id and version) installed on each. gown
// keeps it in the results store beside the scans, so that a fleet scan's
// findings on the back ends an app names tie back to the app versions that
// name them, the devices running those versions and the people carrying
// them. Exposure of a device is the findings on the back ends of its apps.
//
// Owners are personal data. The store never holds an owner's name, e-mail
// or user name: only OwnerRef, a keyed hash (to recognise the same owner on
// re-import) and a masked form (to show a human which one). docs/fleet.md
// says why.

// FleetDevice is one device of an inventory, as an MDM export lists it.
type FleetDevice struct {
	// Source names the MDM the device came from ("intune", "jamf",
	// "workspaceone", "generic"); with MDMID it identifies the device, so
	// that a re-import updates it.
	Source string `json:"source"`
	// MDMID is the device's id as the MDM gives it (an Intune GUID, a
	// Jamf or Workspace ONE number).
	MDMID     string   `json:"mdm_id"`
	Platform  Platform `json:"platform,omitempty"`
	Model     string   `json:"model,omitempty"`
	OSVersion string   `json:"os_version,omitempty"`
	// Owner is the device's user; nil when the MDM names none.
	Owner *OwnerRef `json:"owner,omitempty"`
	// Apps are the apps installed on it.
	Apps []InstalledApp `json:"apps,omitempty"`
}

// OwnerRef stands for a device's owner without holding who it is: Key is
// a keyed hash of the identifier the MDM gave (an e-mail address, a user
// principal name, a user name), Masked a form a human recognises and no one
// can reverse ("j***@a***.com").
type OwnerRef struct {
	Key    string `json:"-"`
	Masked string `json:"owner"`
}

// InstalledApp is one app on a device: its package name or bundle id, the
// name the MDM shows, and the version installed.
type InstalledApp struct {
	ID      string `json:"id"`
	Name    string `json:"name,omitempty"`
	Version string `json:"version,omitempty"`
}

// FleetInventory is one MDM export, normalised.
type FleetInventory struct {
	Source  string        `json:"source"`
	Devices []FleetDevice `json:"devices"`
}

// ImportStats says what an import changed.
type ImportStats struct {
	// Devices counts the devices the import held; New those the store did
	// not hold before.
	Devices, New int
	// Installs counts the (device, app version) pairs the import holds;
	// Apps and Versions the distinct apps and app versions in it.
	Installs, Apps, Versions int
	// Owners counts the distinct owners.
	Owners int
}

// FleetVersion is one app version the inventory knows, with the number of
// devices that run it.
type FleetVersion struct {
	Platform Platform `json:"platform"`
	AppID    string   `json:"app_id"`
	Name     string   `json:"name,omitempty"`
	Version  string   `json:"version"`
	Devices  int64    `json:"devices"`
}

// Check states of an app version in a fleet scan.
const (
	// CheckScanned: a binary of this version was read and its back ends
	// probed.
	CheckScanned = "scanned"
	// CheckNoBinary: the inventory lists the version but no binary of it
	// was given: not checked.
	CheckNoBinary = "no-binary"
	// CheckUnreadable: a binary was given but could not be read (or is
	// encrypted): not checked, and never to be taken as clean.
	CheckUnreadable = "unreadable"
)

// FleetCheck is what a fleet scan did with one app version: read its binary
// (with its SHA-256 and the back ends it names) or not, and why.
type FleetCheck struct {
	Platform Platform `json:"platform"`
	AppID    string   `json:"app_id"`
	Version  string   `json:"version"`
	State    string   `json:"state"`
	// File is the binary as given; SHA256 its digest (hex).
	File   string `json:"file,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
	// Reason says why a version was not checked, when it was not.
	Reason string `json:"reason,omitempty"`
	// Backends are the first-party targets the version names (host and
	// port as probed, before resolution), each with one endpoint that
	// named it (credentials already cut out by extraction).
	Backends []FleetBackendRef `json:"backends,omitempty"`
}

// FleetBackendRef is one back-end target an app version names.
type FleetBackendRef struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Endpoint string `json:"endpoint,omitempty"`
}

// FleetStore is the optional ability of a Store to keep a fleet: the
// inventory, what each fleet scan checked, and the reads the fleet report
// and the dashboard draw from. Both of gown's backends have it.
type FleetStore interface {
	// ImportInventory upserts an inventory in one transaction: devices by
	// (Source, MDMID), apps by (platform, id), versions by (app,
	// version). A device's installs are replaced by the ones the inventory
	// lists for it; devices it does not list are left as they are. On
	// error nothing is changed.
	ImportInventory(ctx context.Context, inv FleetInventory) (ImportStats, error)
	// OwnerKey returns the store's secret key for owner hashes, making one
	// on first use: the same owner keeps the same hash in one store, and
	// hashes cannot be compared across stores.
	OwnerKey(ctx context.Context) ([]byte, error)
	// FleetVersions walks every app version of the inventory with the
	// number of devices running it, ordered by platform, app id, version.
	FleetVersions(ctx context.Context, fn func(FleetVersion) error) error
	// RecordFleetChecks ties a fleet scan (a pipeline scan) to what it did
	// with each app version: checked (with the binary's digest and the back
	// ends it names), or not and why. Calling it again for the same scan
	// adds or replaces versions' records.
	RecordFleetChecks(ctx context.Context, scan ScanID, checks []FleetCheck) error
	// FleetReport reads the exposure of the fleet as a fleet scan found it.
	FleetReport(ctx context.Context, scan ScanID) (FleetReport, error)
	// FleetScans lists the scans that hold fleet checks, newest first.
	FleetScans(ctx context.Context) ([]ScanID, error)
}

// FleetReport is the fleet's exposure as one fleet scan found it: per back
// end, per app version and per device. Only masked owners appear in it.
type FleetReport struct {
	Scan     ScanMeta           `json:"scan"`
	Summary  FleetSummary       `json:"summary"`
	Backends []FleetBackend     `json:"backends"`
	Apps     []FleetAppExposure `json:"apps"`
	Devices  []FleetDeviceRow   `json:"devices"`
}

// FleetSummary counts the fleet and its exposure.
type FleetSummary struct {
	Devices        int64 `json:"devices"`
	DevicesExposed int64 `json:"devices_exposed"`
	Owners         int64 `json:"owners"`
	OwnersExposed  int64 `json:"owners_exposed"`
	// Versions counts the app versions of the inventory; Checked those the
	// scan read, NotChecked the rest (no binary or unreadable).
	Versions   int64 `json:"versions"`
	Checked    int64 `json:"checked"`
	NotChecked int64 `json:"not_checked"`
	// Backends counts the distinct back-end hosts:ports the checked
	// versions name; Exposed those with findings.
	Backends int64 `json:"backends"`
	Exposed  int64 `json:"backends_exposed"`
	// BySeverity counts the distinct findings on the fleet's back ends and
	// in its apps' own code, indexed by Severity.
	BySeverity [SeverityCritical + 1]int64 `json:"by_severity"`
}

// FleetFinding is a finding as the fleet report shows it, with when it was
// first seen.
type FleetFinding struct {
	ID        string    `json:"id"`
	Severity  Severity  `json:"severity"`
	Rule      string    `json:"rule"`
	Title     string    `json:"title"`
	Store     string    `json:"store,omitempty"`
	Items     uint64    `json:"items,omitempty"`
	Bytes     uint64    `json:"bytes,omitempty"`
	FirstSeen ScanID    `json:"first_seen"`
	Since     time.Time `json:"since,omitzero"` // the first-seen scan's start, when it is still stored
}

// FleetBackend is one back-end target the fleet's apps name, with the
// findings the scan drew there and who is exposed through it.
type FleetBackend struct {
	Host     string         `json:"host"`
	Port     int            `json:"port"`
	Store    string         `json:"store,omitempty"`
	Product  string         `json:"product,omitempty"`
	Status   Status         `json:"status,omitempty"`
	Worst    *Severity      `json:"worst,omitempty"`
	Findings []FleetFinding `json:"findings,omitempty"`
	// Apps are the app versions naming it ("com.acme.sales 4.2.0").
	Apps []string `json:"apps"`
	// Devices and Owners count who runs those versions.
	Devices int64 `json:"devices"`
	Owners  int64 `json:"owners"`
}

// FleetAppExposure is one app version of the inventory: whether the scan
// checked it, the back ends it names, its findings (its back ends' and its
// own code's) and the devices running it.
type FleetAppExposure struct {
	Platform Platform       `json:"platform"`
	AppID    string         `json:"app_id"`
	Name     string         `json:"name,omitempty"`
	Version  string         `json:"version"`
	State    string         `json:"state"`
	Reason   string         `json:"reason,omitempty"`
	SHA256   string         `json:"sha256,omitempty"`
	Backends int            `json:"backends"`
	Worst    *Severity      `json:"worst,omitempty"`
	Findings []FleetFinding `json:"findings,omitempty"`
	Devices  int64          `json:"devices"`
}

// FleetDeviceRow is one device with its exposure: the findings of the back
// ends its apps name and of its apps' own code.
type FleetDeviceRow struct {
	Source    string   `json:"source"`
	MDMID     string   `json:"mdm_id"`
	Platform  Platform `json:"platform,omitempty"`
	Model     string   `json:"model,omitempty"`
	OSVersion string   `json:"os_version,omitempty"`
	Owner     string   `json:"owner,omitempty"` // masked
	Apps      int      `json:"apps"`
	// ExposedApps counts its app versions with findings; NotChecked those
	// the scan could not check.
	ExposedApps int       `json:"exposed_apps"`
	NotChecked  int       `json:"not_checked"`
	Worst       *Severity `json:"worst,omitempty"`
	Findings    int       `json:"findings"`
	// Since is when the oldest of its findings was first seen.
	Since time.Time `json:"since,omitzero"`
}
