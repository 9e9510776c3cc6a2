package fleet

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/extract"
	"github.com/gownscan/gown/scan"
	"github.com/gownscan/gown/target"
)

// Store is what a fleet scan needs of the results store: the pipeline's
// scans and the fleet.
type Store interface {
	gown.Store
	gown.FleetStore
}

// ScanConfig sets one fleet scan.
type ScanConfig struct {
	// Store holds the inventory and keeps the scan; Scan.Store is set to
	// it.
	Store Store
	// Scan sets the pipeline (probers, limits, --fail-on); Meta.Command is
	// "fleet".
	Scan scan.Config
	// Targets expands each back end an app names (ports, scope, resolver).
	Targets *target.Config
	// Parties widens the back ends probed beyond the apps' first-party
	// ones: unknown-party hosts (--probe-unknown), internal names and
	// private addresses (--allow-private).
	Parties gown.PartyScope
	// Extract reads the binaries.
	Extract *extract.Extractor
	// Files are the app binaries, directories already expanded.
	Files []string
	// Sink gets the results and findings as they are stored.
	Sink scan.Sink
	// OnApp, when set, sees each binary as it is read, with what the fleet
	// scan made of it.
	OnApp func(BinaryReport)
	// Began, when set, is told the scan's id once it is recorded.
	Began func(gown.ScanID)
	// Submit, when set, hands the back-end targets to another runner (a
	// queue's workers) instead of probing them here. It gets the begun
	// scan, which holds the apps' own findings and the fleet checks, and
	// the targets (nil when the binaries name none).
	Submit func(ctx context.Context, s *scan.Scan, src scan.Source) (scan.Summary, error)
}

// Validate checks the config.
func (c *ScanConfig) Validate() error {
	switch {
	case c.Store == nil:
		return errors.New("fleet scan: no results store (the inventory lives there)")
	case c.Targets == nil || c.Extract == nil:
		return errors.New("fleet scan: no target expansion or extractor")
	case len(c.Files) == 0:
		return errors.New("fleet scan: no app binaries")
	}
	return nil
}

// BinaryReport is one binary as the fleet scan read it.
type BinaryReport struct {
	File string
	// App is what extraction read; nil when the file could not be read.
	App *gown.App
	Err error
	// Check is what is recorded for the app version, Devices the devices
	// running it.
	Check   gown.FleetCheck
	Devices int64
	// InInventory says whether the inventory lists the app; Versions are
	// the versions it lists, when the binary's is not among them.
	InInventory bool
	Versions    []string
}

// ScanSummary counts what a fleet scan did.
type ScanSummary struct {
	scan.Summary
	// Binaries counts the files given, Matched those whose app and version
	// the inventory lists, Unreadable those that could not be read.
	Binaries, Matched, Unreadable int
	// NotChecked lists the inventory's app versions no binary was given
	// for, with the devices running each.
	NotChecked []gown.FleetVersion
	// Targets counts the distinct back-end targets probed.
	Targets int
	// Held counts the endpoints of the unknown and internal parties that
	// Parties left out (not probed), by party.
	Held map[gown.Party]int
}

type versionKey struct{ platform, id, version string }

// Scan runs one fleet scan: it matches each binary to the inventory by
// package or bundle id and version, grades each app's own code, records
// which versions were checked and which back ends each names, and probes
// the union of the first-party back ends (and those of the parties
// cfg.Parties adds), each target once however many apps name it, in one
// pipeline scan. Versions of the inventory without a
// binary are recorded as not checked. The scan's findings then tie back to
// versions, devices and owners (gown.FleetStore.FleetReport).
func Scan(ctx context.Context, cfg ScanConfig) (ScanSummary, error) {
	var sum ScanSummary
	if err := cfg.Validate(); err != nil {
		return sum, err
	}
	inv := map[versionKey]gown.FleetVersion{}
	byApp := map[[2]string][]string{}
	err := cfg.Store.FleetVersions(ctx, func(v gown.FleetVersion) error {
		inv[versionKey{string(v.Platform), v.AppID, v.Version}] = v
		byApp[[2]string{string(v.Platform), v.AppID}] = append(byApp[[2]string{string(v.Platform), v.AppID}], v.Version)
		return nil
	})
	if err != nil {
		return sum, err
	}
	cfg.Scan.Store = cfg.Store
	if cfg.Scan.Meta.Command == "" {
		cfg.Scan.Meta.Command = "fleet"
	}
	s, err := scan.Begin(ctx, cfg.Scan, cfg.Sink)
	if err != nil {
		return sum, err
	}
	sum.ID = s.ID()
	if cfg.Began != nil {
		cfg.Began(s.ID())
	}
	idx := map[versionKey]int{} // the version's record in checks
	var checks []gown.FleetCheck
	var targets []gown.Target
	seen := map[string]bool{}
	for _, file := range cfg.Files {
		if err := ctx.Err(); err != nil {
			return sum, errors.Join(err, s.Close(ctx))
		}
		sum.Binaries++
		br := readBinary(ctx, cfg.Extract, file)
		if br.App != nil && br.App.ID != "" {
			k := versionKey{string(br.App.Platform), br.App.ID, br.App.Version}
			v, ok := inv[k]
			br.Devices, br.InInventory = v.Devices, len(byApp[[2]string{k.platform, k.id}]) > 0
			if !ok {
				br.Versions = byApp[[2]string{k.platform, k.id}]
			} else if br.Check.State == gown.CheckScanned {
				sum.Matched++
			}
			if err := s.AddApp(br.App); err != nil {
				return sum, errors.Join(err, s.Close(ctx))
			}
			if br.Check.State == gown.CheckScanned {
				br.Check.Backends = backends(br.App, cfg.Targets.Ports, cfg.Parties)
				for _, e := range br.App.Endpoints {
					if (e.Party == gown.PartyUnknown || e.Party == gown.PartyInternal) && !e.Probed(cfg.Parties) {
						if sum.Held == nil {
							sum.Held = map[gown.Party]int{}
						}
						sum.Held[e.Party]++
					}
					for _, t := range e.TargetsIn(cfg.Targets.Ports, cfg.Parties) {
						if key := gown.TargetKey(t); !seen[key] {
							seen[key] = true
							targets = append(targets, t)
						}
					}
				}
			}
			// Two binaries of one version: one record, a scanned one if any.
			if i, ok := idx[k]; !ok {
				idx[k] = len(checks)
				checks = append(checks, br.Check)
			} else if br.Check.State == gown.CheckScanned {
				checks[i] = br.Check
			}
		}
		if br.Check.State != gown.CheckScanned {
			sum.Unreadable++
		}
		if cfg.OnApp != nil {
			cfg.OnApp(br)
		}
	}
	for k, v := range inv {
		if _, ok := idx[k]; ok || v.Devices == 0 {
			continue
		}
		reason := "no binary given"
		if k.platform != string(gown.PlatformAndroid) && k.platform != string(gown.PlatformIOS) {
			reason = "platform " + k.platform + ": gown reads Android and iOS apps"
		}
		checks = append(checks, gown.FleetCheck{Platform: gown.Platform(k.platform), AppID: k.id, Version: k.version,
			State: gown.CheckNoBinary, Reason: reason})
		sum.NotChecked = append(sum.NotChecked, v)
	}
	slices.SortFunc(sum.NotChecked, func(a, b gown.FleetVersion) int {
		return cmp.Or(cmp.Compare(b.Devices, a.Devices), cmp.Compare(a.Platform, b.Platform), cmp.Compare(a.AppID, b.AppID),
			cmp.Compare(a.Version, b.Version))
	})
	// Recorded before probing: a fleet scan killed while probing still
	// ties what it stored to the versions that name it.
	if err := cfg.Store.RecordFleetChecks(ctx, s.ID(), checks); err != nil {
		return sum, errors.Join(err, s.Close(ctx))
	}
	sum.Targets = len(targets)
	src := func(ctx context.Context, out chan<- gown.Target) error {
		for _, t := range targets {
			if err := target.ExpandTarget(ctx, cfg.Targets, t, out); err != nil {
				return err
			}
		}
		return nil
	}
	if len(targets) == 0 {
		src = nil
	}
	if cfg.Submit != nil {
		sum.Summary, err = cfg.Submit(ctx, s, src)
		return sum, err
	}
	sum.Summary, err = s.Run(ctx, src)
	return sum, err
}

// readBinary reads one binary and says what the fleet scan records for it.
func readBinary(ctx context.Context, x *extract.Extractor, file string) BinaryReport {
	br := BinaryReport{File: file, Check: gown.FleetCheck{File: file, State: gown.CheckUnreadable}}
	sha, err := digest(file)
	if err != nil {
		br.Err = err
		return br
	}
	br.Check.SHA256 = sha
	app, err := x.File(ctx, file)
	br.App, br.Err = app, err
	if app == nil || app.Platform == "" {
		if br.Err == nil {
			br.Err = fmt.Errorf("%s: not an app gown can read", file)
		}
		br.App = nil
		return br
	}
	br.Check.Platform, br.Check.AppID, br.Check.Version = app.Platform, app.ID, app.Version
	switch {
	case app.Encrypted:
		br.Check.Reason = "FairPlay-encrypted: its strings cannot be read; decrypt it to check it"
	case app.ID == "":
		br.Check.Reason = "no package or bundle id could be read"
	default:
		br.Check.State = gown.CheckScanned
	}
	return br
}

// backends lists the targets an app names that the scan probes (first
// party, and the parties scope adds), each once, with the endpoint that
// named it first.
func backends(a *gown.App, ports []int, scope gown.PartyScope) []gown.FleetBackendRef {
	var out []gown.FleetBackendRef
	seen := map[string]bool{}
	for _, e := range a.Endpoints {
		for _, t := range e.TargetsIn(ports, scope) {
			k := gown.TargetKey(gown.Target{Host: t.Host, Port: t.Port})
			if !seen[k] {
				seen[k] = true
				out = append(out, gown.FleetBackendRef{Host: t.Host, Port: t.Port, Endpoint: e.Value})
			}
		}
	}
	return out
}

func digest(file string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("%s: %w", file, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
