package watch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/redact"
	"github.com/gownscan/gown/store"
)

// alerting are the diff kinds that alert; still-open is the absence of
// change.
var alerting = []store.DiffKind{store.DiffNew, store.DiffFixed, store.DiffGrown, store.DiffShrunk, store.DiffWiped}

// Payload is the generic JSON document a webhook receives for one alert,
// and what the Slack message is written from. It holds no secret and no
// personal data: every string a server or an app chose passes through
// redact.Text, findings carry titles (which gown writes with counts and
// class names, never values) and no evidence, and a fleet's people appear
// only as counts.
type Payload struct {
	AlertID string `json:"alert_id"`
	Watch   string `json:"watch"`
	Run     int    `json:"run"`
	Scan    int64  `json:"scan"`
	Base    int64  `json:"base_scan,omitempty"`
	// Kind is new, fixed, grown, shrunk or wiped.
	Kind     string         `json:"kind"`
	Severity gown.Severity  `json:"severity"`
	Finding  PayloadFinding `json:"finding"`
	// Items and bytes at risk before and after, for grown, shrunk, wiped.
	ItemsBefore uint64 `json:"items_before"`
	ItemsAfter  uint64 `json:"items_after"`
	BytesBefore uint64 `json:"bytes_before"`
	BytesAfter  uint64 `json:"bytes_after"`
	// Notes are where the ransom notes of a wiped store are.
	Notes []string `json:"notes,omitempty"`
	// Fleet says who is exposed through the back end, for a fleet watch.
	Fleet *PayloadFleet `json:"fleet,omitempty"`
	At    time.Time     `json:"at"`
}

// PayloadFinding is the finding an alert is about.
type PayloadFinding struct {
	ID      string `json:"id"`
	Rule    string `json:"rule"`
	Title   string `json:"title"`
	Target  string `json:"target"`
	Store   string `json:"store,omitempty"`
	Product string `json:"product,omitempty"`
}

// PayloadFleet counts a back end's exposure in a fleet: the app versions
// naming it and how many devices and owners run them. No owner, device
// name or e-mail address is ever part of an alert.
type PayloadFleet struct {
	Apps    []string `json:"apps"`
	Devices int64    `json:"devices"`
	Owners  int64    `json:"owners"`
}

// alertID is derived from the watch, the run and the change, so that a run
// whose alerts are recorded twice (a crash between) records each once.
func alertID(watch string, seq int, kind store.DiffKind, finding string) string {
	h := sha256.Sum256([]byte(watch + "\x00" + strconv.Itoa(seq) + "\x00" + string(kind) + "\x00" + finding))
	return hex.EncodeToString(h[:12])
}

// safe is one line of server- or app-chosen text, redacted and capped.
func safe(s string, max int) string {
	return redact.Text(strings.Join(strings.Fields(s), " "), max)
}

// alerts diffs a run against its base and builds its alerts, with a
// summary of every change for the log.
func (wt *Watcher) alerts(ctx context.Context, run gown.WatchRun) ([]gown.Alert, string, error) {
	counts := map[store.DiffKind]int{}
	var entries []store.DiffEntry
	collect := func(e store.DiffEntry) error {
		counts[e.Kind]++
		if slices.Contains(alerting, e.Kind) && e.Finding.Severity >= wt.cfg.AlertOn {
			entries = append(entries, e)
		}
		return nil
	}
	var err error
	if run.Base == 0 {
		// A first run has nothing to compare with: what it finds is new.
		err = wt.cfg.Store.Results(ctx, run.Scan, func(r *gown.Result, fs []gown.Finding) error {
			for _, f := range fs {
				e := store.DiffEntry{Kind: store.DiffNew, Finding: f, ItemsAfter: f.Items, BytesAfter: f.Bytes}
				if r != nil {
					e.Product = r.Product
				}
				collect(e)
			}
			return nil
		})
	} else {
		err = store.Diff(ctx, wt.cfg.Store, run.Base, run.Scan, collect)
	}
	if err != nil {
		return nil, "", err
	}
	exposure := wt.fleetExposure(ctx, run)
	now := wt.cfg.Now().UTC()
	var out []gown.Alert
	for _, e := range entries {
		f := e.Finding
		p := Payload{AlertID: alertID(wt.w.Name, run.Seq, e.Kind, f.ID), Watch: safe(wt.w.Name, 120), Run: run.Seq, Scan: int64(run.Scan),
			Base: int64(run.Base), Kind: string(e.Kind), Severity: f.Severity,
			Finding: PayloadFinding{ID: f.ID, Rule: safe(f.Rule, 60), Title: safe(f.Title, 300), Target: safe(targetOf(f), 200),
				Store: safe(f.Store, 40), Product: safe(e.Product, 80)},
			ItemsBefore: e.ItemsBefore, ItemsAfter: e.ItemsAfter, BytesBefore: e.BytesBefore, BytesAfter: e.BytesAfter, At: now}
		for _, n := range e.Notes {
			p.Notes = append(p.Notes, safe(n, 120))
		}
		if fl, ok := exposure[net.JoinHostPort(f.Target.Host, strconv.Itoa(f.Target.Port))]; ok {
			p.Fleet = &fl
		}
		b, err := json.Marshal(p)
		if err != nil {
			return nil, "", err
		}
		out = append(out, gown.Alert{ID: p.AlertID, Kind: p.Kind, Severity: f.Severity, FindingID: f.ID, Payload: b, Created: now})
	}
	var parts []string
	for _, k := range []store.DiffKind{store.DiffNew, store.DiffGrown, store.DiffWiped, store.DiffShrunk, store.DiffFixed, store.DiffStillOpen} {
		parts = append(parts, fmt.Sprintf("%d %s", counts[k], k))
	}
	return out, strings.Join(parts, ", "), nil
}

// targetOf names a finding's subject: host:port for a service, the app or
// the address for a standalone finding.
func targetOf(f gown.Finding) string {
	if f.Target.Port == 0 {
		return f.Target.Host
	}
	return net.JoinHostPort(f.Target.Host, strconv.Itoa(f.Target.Port))
}

// fleetExposure maps each back end of a fleet watch's run (and its base,
// for what was fixed) to who is exposed through it. A scan watch, or a
// store without fleets, has none.
func (wt *Watcher) fleetExposure(ctx context.Context, run gown.WatchRun) map[string]PayloadFleet {
	fs, ok := wt.cfg.Store.(gown.FleetStore)
	if !ok || wt.w.Command != "fleet" {
		return nil
	}
	out := map[string]PayloadFleet{}
	for _, id := range []gown.ScanID{run.Base, run.Scan} { // the run's view wins
		if id == 0 {
			continue
		}
		rep, err := fs.FleetReport(ctx, id)
		if err != nil {
			wt.logf("fleet exposure of scan %d: %v", id, err)
			continue
		}
		for _, b := range rep.Backends {
			var apps []string
			for _, a := range b.Apps {
				apps = append(apps, safe(a, 160))
			}
			out[net.JoinHostPort(b.Host, strconv.Itoa(b.Port))] = PayloadFleet{Apps: apps, Devices: b.Devices, Owners: b.Owners}
		}
	}
	return out
}
