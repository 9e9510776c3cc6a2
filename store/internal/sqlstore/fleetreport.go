package sqlstore

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"

	"github.com/gownscan/gown"
)

// fleetVersion is one app version as the report assembles it.
type fleetVersion struct {
	row      gown.FleetAppExposure
	hosts    map[string]bool
	findings map[string]gown.FleetFinding
}

// FleetReport reads the fleet's exposure as one fleet scan found it. The
// database joins findings to back ends and counts installs; the tree (back
// end → versions → devices → owners) is assembled here, holding one row per
// app version and per device: a fleet's size, not its findings' history.
func (s *Store) FleetReport(ctx context.Context, scan gown.ScanID) (gown.FleetReport, error) {
	var rep gown.FleetReport
	meta, err := s.Scan(ctx, scan)
	if err != nil {
		return rep, err
	}
	rep.Scan = meta
	wrap := func(what string, err error) error {
		return fmt.Errorf("%s: fleet report of scan %d: %s: %w", s.d.Name, scan, what, err)
	}
	versions, order, err := s.fleetVersions(ctx, scan)
	if err != nil {
		return rep, wrap("versions", err)
	}
	backends, err := s.fleetBackends(ctx, scan, versions)
	if err != nil {
		return rep, wrap("back ends", err)
	}
	if err := s.fleetAppFindings(ctx, scan, versions); err != nil {
		return rep, wrap("apps' own findings", err)
	}
	distinct := map[string]gown.Severity{}
	for _, id := range order {
		v := versions[id]
		v.row.Backends = len(v.hosts)
		for _, f := range v.findings {
			v.row.Findings = append(v.row.Findings, f)
			distinct[f.ID] = f.Severity
		}
		sortFindings(v.row.Findings)
		v.row.Worst = worstOf(v.row.Findings)
		if v.row.Devices == 0 && v.row.State == "" {
			continue // a version of an earlier scan's binary that no device runs
		}
		rep.Summary.Versions++
		if v.row.State == gown.CheckScanned {
			rep.Summary.Checked++
		} else {
			rep.Summary.NotChecked++
		}
		rep.Apps = append(rep.Apps, v.row)
	}
	for _, sev := range distinct {
		rep.Summary.BySeverity[sev]++
	}
	slices.SortStableFunc(rep.Apps, func(a, b gown.FleetAppExposure) int {
		return cmp.Or(-cmpWorst(a.Worst, b.Worst), cmp.Compare(a.AppID, b.AppID), cmp.Compare(a.Version, b.Version))
	})
	for _, b := range backends {
		rep.Summary.Backends++
		if len(b.Findings) > 0 {
			rep.Summary.Exposed++
		}
		rep.Backends = append(rep.Backends, *b)
	}
	slices.SortStableFunc(rep.Backends, func(a, b gown.FleetBackend) int {
		return cmp.Or(-cmpWorst(a.Worst, b.Worst), cmp.Compare(a.Host, b.Host), cmp.Compare(a.Port, b.Port))
	})
	if err := s.fleetDevices(ctx, versions, &rep); err != nil {
		return rep, wrap("devices", err)
	}
	return rep, nil
}

// fleetVersions reads every app version with its device count and what the
// scan did with it.
func (s *Store) fleetVersions(ctx context.Context, scan gown.ScanID) (map[int64]*fleetVersion, []int64, error) {
	type vrow struct {
		id int64
		v  *fleetVersion
	}
	rows, err := collect(ctx, s.db, s.q(`SELECT v.id, a.platform, a.app_id, a.name, v.version,
		(SELECT COUNT(*) FROM fleet_installs i WHERE i.version_id = v.id),
		COALESCE(c.state, ''), COALESCE(c.reason, ''), COALESCE(c.sha256, '')
		FROM fleet_versions v JOIN fleet_apps a ON a.id = v.app_id
		LEFT JOIN fleet_checks c ON c.version_id = v.id AND c.scan_id = ?
		ORDER BY a.platform, a.app_id, v.version`), []any{int64(scan)}, func(r rowScanner) (vrow, error) {
		v := &fleetVersion{hosts: map[string]bool{}, findings: map[string]gown.FleetFinding{}}
		var id int64
		var p string
		err := r.Scan(&id, &p, &v.row.AppID, &v.row.Name, &v.row.Version, &v.row.Devices, &v.row.State, &v.row.Reason, &v.row.SHA256)
		v.row.Platform = gown.Platform(p)
		return vrow{id, v}, err
	})
	if err != nil {
		return nil, nil, err
	}
	m := make(map[int64]*fleetVersion, len(rows))
	order := make([]int64, 0, len(rows))
	for _, r := range rows {
		if r.v.row.State == "" && r.v.row.Devices > 0 {
			r.v.row.State, r.v.row.Reason = gown.CheckNoBinary, "not in this fleet scan (imported after it)"
		}
		m[r.id] = r.v
		order = append(order, r.id)
	}
	return m, order, nil
}

// fleetFindingCols are a finding as the fleet report shows it; the
// first-seen scan's start may be gone with a prune.
const fleetFindingCols = `f.id, f.host, f.port, o.severity, f.rule, o.title, f.store, o.items, o.bytes, f.first_seen, COALESCE(sc.started_at, '')`

func scanFleetFinding(r rowScanner) (host string, port int, f gown.FleetFinding, err error) {
	var items, bytes, first int64
	var since string
	err = r.Scan(&f.ID, &host, &port, &f.Severity, &f.Rule, &f.Title, &f.Store, &items, &bytes, &first, &since)
	f.Items, f.Bytes, f.FirstSeen, f.Since = uint64(max(items, 0)), uint64(max(bytes, 0)), gown.ScanID(first), parseTime(since)
	return host, port, f, err
}

// fleetBackends reads the back ends the scan's versions name that answered
// or hold findings, with their findings, the versions naming them and who
// runs those versions.
func (s *Store) fleetBackends(ctx context.Context, scan gown.ScanID, versions map[int64]*fleetVersion) ([]*gown.FleetBackend, error) {
	type link struct {
		version    int64
		host       string
		port       int
		endpoint   string
		store      string
		product    string
		status     string
		hasService bool
	}
	links, err := collect(ctx, s.db, s.q(`SELECT b.version_id, b.host, b.port, b.endpoint,
		COALESCE(v.store, ''), COALESCE(v.product, ''), COALESCE(v.status, ''), v.id IS NOT NULL
		FROM fleet_backends b LEFT JOIN services v ON v.scan_id = b.scan_id AND v.host = b.host AND v.port = b.port AND v.`+answered+`
		WHERE b.scan_id = ? ORDER BY b.host, b.port, v.status`), []any{int64(scan)}, func(r rowScanner) (link, error) {
		var l link
		err := r.Scan(&l.version, &l.host, &l.port, &l.endpoint, &l.store, &l.product, &l.status, &l.hasService)
		return l, err
	})
	if err != nil {
		return nil, err
	}
	type hit struct {
		host string
		port int
		f    gown.FleetFinding
	}
	hits, err := collect(ctx, s.db, s.q(`SELECT `+fleetFindingCols+`
		FROM occurrences o JOIN findings f ON f.id = o.finding_id LEFT JOIN scans sc ON sc.id = f.first_seen
		WHERE o.scan_id = ? AND EXISTS (SELECT 1 FROM fleet_backends b WHERE b.scan_id = o.scan_id AND b.host = f.host AND b.port = f.port)
		ORDER BY f.host, f.port, o.severity DESC, f.id`), []any{int64(scan)}, func(r rowScanner) (hit, error) {
		var h hit
		var err error
		h.host, h.port, h.f, err = scanFleetFinding(r)
		return h, err
	})
	if err != nil {
		return nil, err
	}
	byTarget := map[string][]gown.FleetFinding{}
	for _, h := range hits {
		k := net.JoinHostPort(h.host, strconv.Itoa(h.port))
		byTarget[k] = append(byTarget[k], h.f)
	}
	out := map[string]*gown.FleetBackend{}
	var keys []string
	for _, l := range links {
		k := net.JoinHostPort(l.host, strconv.Itoa(l.port))
		v := versions[l.version]
		if v != nil {
			v.hosts[l.host] = true
			for _, f := range byTarget[k] {
				v.findings[f.ID] = f
			}
		}
		fs := byTarget[k]
		if !l.hasService && len(fs) == 0 {
			continue // nothing answered there
		}
		b := out[k]
		if b == nil {
			b = &gown.FleetBackend{Host: l.host, Port: l.port, Findings: fs, Worst: worstOf(fs)}
			out[k] = b
			keys = append(keys, k)
		}
		// The open verdict wins over another service on the same port.
		if l.hasService && (b.Status == "" || l.status == string(gown.StatusOpen)) {
			b.Store, b.Product, b.Status = l.store, l.product, gown.Status(l.status)
		}
		if v != nil {
			if name := v.row.AppID + " " + v.row.Version; !slices.Contains(b.Apps, name) {
				b.Apps = append(b.Apps, name)
			}
		}
	}
	counts, err := collect(ctx, s.db, s.q(`SELECT b.host, b.port, COUNT(DISTINCT i.device_id), COUNT(DISTINCT d.owner_id)
		FROM fleet_backends b JOIN fleet_installs i ON i.version_id = b.version_id JOIN fleet_devices d ON d.id = i.device_id
		WHERE b.scan_id = ? GROUP BY b.host, b.port`), []any{int64(scan)}, func(r rowScanner) (gown.FleetBackend, error) {
		var b gown.FleetBackend
		err := r.Scan(&b.Host, &b.Port, &b.Devices, &b.Owners)
		return b, err
	})
	if err != nil {
		return nil, err
	}
	for _, c := range counts {
		if b := out[net.JoinHostPort(c.Host, strconv.Itoa(c.Port))]; b != nil {
			b.Devices, b.Owners = c.Devices, c.Owners
		}
	}
	res := make([]*gown.FleetBackend, 0, len(keys))
	for _, k := range keys {
		slices.Sort(out[k].Apps)
		res = append(res, out[k])
	}
	return res, nil
}

// fleetAppFindings adds the findings about each app's own code (hard-coded
// credentials, clear-text transport), whose subject is the app id, to the
// versions the scan checked.
func (s *Store) fleetAppFindings(ctx context.Context, scan gown.ScanID, versions map[int64]*fleetVersion) error {
	type hit struct {
		app string
		f   gown.FleetFinding
	}
	hits, err := collect(ctx, s.db, s.q(`SELECT `+fleetFindingCols+`
		FROM occurrences o JOIN findings f ON f.id = o.finding_id LEFT JOIN scans sc ON sc.id = f.first_seen
		WHERE o.scan_id = ? AND o.service_id IS NULL AND o.origin = 'app'`), []any{int64(scan)}, func(r rowScanner) (hit, error) {
		var h hit
		var err error
		h.app, _, h.f, err = scanFleetFinding(r)
		return h, err
	})
	if err != nil {
		return err
	}
	for _, h := range hits {
		for _, v := range versions {
			if v.row.AppID == h.app && v.row.State == gown.CheckScanned {
				v.findings[h.f.ID] = h.f
			}
		}
	}
	return nil
}

// fleetDevices walks every device with its installs and sums its versions'
// exposure.
func (s *Store) fleetDevices(ctx context.Context, versions map[int64]*fleetVersion, rep *gown.FleetReport) error {
	rows, err := s.db.QueryContext(ctx, `SELECT d.id, d.source, d.mdm_id, d.platform, d.model, d.os_version, COALESCE(o.masked, ''),
		COALESCE(d.owner_id, 0), COALESCE(i.version_id, 0)
		FROM fleet_devices d LEFT JOIN fleet_owners o ON o.id = d.owner_id LEFT JOIN fleet_installs i ON i.device_id = d.id
		ORDER BY d.id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	owners, exposedOwners := map[int64]bool{}, map[int64]bool{}
	var cur *gown.FleetDeviceRow
	var curID, curOwner int64
	var found map[string]gown.FleetFinding
	flush := func() {
		if cur == nil {
			return
		}
		var fs []gown.FleetFinding
		for _, f := range found {
			fs = append(fs, f)
			if cur.Since.IsZero() || !f.Since.IsZero() && f.Since.Before(cur.Since) {
				cur.Since = f.Since
			}
		}
		cur.Findings, cur.Worst = len(fs), worstOf(fs)
		rep.Summary.Devices++
		if curOwner != 0 {
			owners[curOwner] = true
		}
		if len(fs) > 0 {
			rep.Summary.DevicesExposed++
			if curOwner != 0 {
				exposedOwners[curOwner] = true
			}
		}
		rep.Devices = append(rep.Devices, *cur)
	}
	for rows.Next() {
		var id, owner, ver int64
		var d gown.FleetDeviceRow
		var p string
		if err := rows.Scan(&id, &d.Source, &d.MDMID, &p, &d.Model, &d.OSVersion, &d.Owner, &owner, &ver); err != nil {
			return err
		}
		if cur == nil || id != curID {
			flush()
			d.Platform = gown.Platform(p)
			cur, curID, curOwner, found = &d, id, owner, map[string]gown.FleetFinding{}
		}
		v := versions[ver]
		if v == nil {
			continue
		}
		cur.Apps++
		if v.row.State != gown.CheckScanned {
			cur.NotChecked++
		}
		if len(v.findings) > 0 {
			cur.ExposedApps++
		}
		for id, f := range v.findings {
			found[id] = f
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	flush()
	rep.Summary.Owners, rep.Summary.OwnersExposed = int64(len(owners)), int64(len(exposedOwners))
	slices.SortStableFunc(rep.Devices, func(a, b gown.FleetDeviceRow) int {
		return cmp.Or(-cmpWorst(a.Worst, b.Worst), -cmp.Compare(a.Findings, b.Findings), cmp.Compare(a.Source, b.Source), cmp.Compare(a.MDMID, b.MDMID))
	})
	return nil
}

func sortFindings(fs []gown.FleetFinding) {
	slices.SortFunc(fs, func(a, b gown.FleetFinding) int {
		return cmp.Or(-cmp.Compare(a.Severity, b.Severity), cmp.Compare(a.Rule, b.Rule), cmp.Compare(a.ID, b.ID))
	})
}

// worstOf is the highest severity among fs, nil when fs is empty.
func worstOf(fs []gown.FleetFinding) *gown.Severity {
	if len(fs) == 0 {
		return nil
	}
	w := fs[0].Severity
	for _, f := range fs[1:] {
		w = max(w, f.Severity)
	}
	return &w
}

// cmpWorst orders "no findings" below every severity.
func cmpWorst(a, b *gown.Severity) int {
	sev := func(p *gown.Severity) int {
		if p == nil {
			return -1
		}
		return int(*p)
	}
	return cmp.Compare(sev(a), sev(b))
}
