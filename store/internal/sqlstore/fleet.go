package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/gownscan/gown"
)

var _ gown.FleetStore = (*Store)(nil)

// OwnerKey returns the store's key for owner hashes, making it on first
// use. Two processes making one at once both read the one that won.
func (s *Store) OwnerKey(ctx context.Context) ([]byte, error) {
	var k string
	err := s.db.QueryRowContext(ctx, `SELECT owner_key FROM fleet_meta WHERE id = 1`).Scan(&k)
	if errors.Is(err, sql.ErrNoRows) {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		if _, err := s.db.ExecContext(ctx, s.q(`INSERT INTO fleet_meta (id, owner_key) VALUES (1, ?) ON CONFLICT (id) DO NOTHING`),
			hex.EncodeToString(b)); err != nil {
			return nil, fmt.Errorf("%s: owner key: %w", s.d.Name, err)
		}
		err = s.db.QueryRowContext(ctx, `SELECT owner_key FROM fleet_meta WHERE id = 1`).Scan(&k)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: owner key: %w", s.d.Name, err)
	}
	return hex.DecodeString(k)
}

// fleetTx holds one import's statements and what it already upserted.
type fleetTx struct {
	s        *Store
	tx       *sql.Tx
	apps     map[[2]string]int64 // platform, app id → row
	versions map[[2]any]int64    // app row, version → row
	owners   map[string]int64    // key → row
}

func (s *Store) beginFleet(ctx context.Context) (*fleetTx, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return &fleetTx{s: s, tx: tx, apps: map[[2]string]int64{}, versions: map[[2]any]int64{}, owners: map[string]int64{}}, nil
}

func (f *fleetTx) app(ctx context.Context, platform gown.Platform, id, name string) (int64, error) {
	k := [2]string{string(platform), id}
	if row, ok := f.apps[k]; ok {
		return row, nil
	}
	// A name the export gives replaces the stored one; none keeps it.
	var row int64
	err := f.tx.QueryRowContext(ctx, f.s.q(`INSERT INTO fleet_apps (platform, app_id, name) VALUES (?, ?, ?)
		ON CONFLICT (platform, app_id) DO UPDATE SET name = CASE WHEN excluded.name = '' THEN fleet_apps.name ELSE excluded.name END
		RETURNING id`), string(platform), id, name).Scan(&row)
	if err != nil {
		return 0, fmt.Errorf("app %s %s: %w", platform, id, err)
	}
	f.apps[k] = row
	return row, nil
}

func (f *fleetTx) version(ctx context.Context, app int64, version, sha string) (int64, error) {
	k := [2]any{app, version}
	if row, ok := f.versions[k]; ok && sha == "" {
		return row, nil
	}
	var row int64
	err := f.tx.QueryRowContext(ctx, f.s.q(`INSERT INTO fleet_versions (app_id, version, sha256) VALUES (?, ?, ?)
		ON CONFLICT (app_id, version) DO UPDATE SET sha256 = CASE WHEN excluded.sha256 = '' THEN fleet_versions.sha256 ELSE excluded.sha256 END
		RETURNING id`), app, version, sha).Scan(&row)
	if err != nil {
		return 0, fmt.Errorf("version %s: %w", version, err)
	}
	f.versions[k] = row
	return row, nil
}

func (f *fleetTx) owner(ctx context.Context, o *gown.OwnerRef) (any, error) {
	if o == nil || o.Key == "" {
		return nil, nil
	}
	if row, ok := f.owners[o.Key]; ok {
		return row, nil
	}
	var row int64
	err := f.tx.QueryRowContext(ctx, f.s.q(`INSERT INTO fleet_owners (key, masked) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET masked = excluded.masked RETURNING id`), o.Key, o.Masked).Scan(&row)
	if err != nil {
		return nil, fmt.Errorf("owner %s: %w", o.Masked, err)
	}
	f.owners[o.Key] = row
	return row, nil
}

// ImportInventory upserts an inventory in one transaction (see
// gown.FleetStore).
func (s *Store) ImportInventory(ctx context.Context, inv gown.FleetInventory) (gown.ImportStats, error) {
	var st gown.ImportStats
	f, err := s.beginFleet(ctx)
	if err != nil {
		return st, fmt.Errorf("%s: import: %w", s.d.Name, err)
	}
	defer f.tx.Rollback()
	now := fmtTime(time.Now())
	seen := map[string]bool{}
	for _, d := range inv.Devices {
		if d.MDMID == "" {
			return gown.ImportStats{}, fmt.Errorf("%s: import: a device without an id", s.d.Name)
		}
		src := d.Source
		if src == "" {
			src = inv.Source
		}
		owner, err := f.owner(ctx, d.Owner)
		if err != nil {
			return gown.ImportStats{}, fmt.Errorf("%s: import device %s: %w", s.d.Name, d.MDMID, err)
		}
		var dev int64
		err = f.tx.QueryRowContext(ctx, s.q(`SELECT id FROM fleet_devices WHERE source = ? AND mdm_id = ?`), src, d.MDMID).Scan(&dev)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			st.New++
			err = f.tx.QueryRowContext(ctx, s.q(`INSERT INTO fleet_devices (source, mdm_id, platform, model, os_version, owner_id, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`), src, d.MDMID, string(d.Platform), d.Model, d.OSVersion, owner, now).Scan(&dev)
		case err == nil:
			_, err = f.tx.ExecContext(ctx, s.q(`UPDATE fleet_devices SET platform = ?, model = ?, os_version = ?, owner_id = ?, updated_at = ?
				WHERE id = ?`), string(d.Platform), d.Model, d.OSVersion, owner, now, dev)
		}
		if err != nil {
			return gown.ImportStats{}, fmt.Errorf("%s: import device %s: %w", s.d.Name, d.MDMID, err)
		}
		if !seen[src+"\x00"+d.MDMID] {
			seen[src+"\x00"+d.MDMID] = true
			st.Devices++
		}
		// The export is the device's inventory now: what it no longer
		// lists was uninstalled.
		if _, err := f.tx.ExecContext(ctx, s.q(`DELETE FROM fleet_installs WHERE device_id = ?`), dev); err != nil {
			return gown.ImportStats{}, fmt.Errorf("%s: import device %s: %w", s.d.Name, d.MDMID, err)
		}
		for _, a := range d.Apps {
			app, err := f.app(ctx, d.Platform, a.ID, a.Name)
			if err != nil {
				return gown.ImportStats{}, fmt.Errorf("%s: import device %s: %w", s.d.Name, d.MDMID, err)
			}
			ver, err := f.version(ctx, app, a.Version, "")
			if err != nil {
				return gown.ImportStats{}, fmt.Errorf("%s: import device %s: %w", s.d.Name, d.MDMID, err)
			}
			res, err := f.tx.ExecContext(ctx, s.q(`INSERT INTO fleet_installs (device_id, version_id) VALUES (?, ?) ON CONFLICT DO NOTHING`), dev, ver)
			if err != nil {
				return gown.ImportStats{}, fmt.Errorf("%s: import device %s: %w", s.d.Name, d.MDMID, err)
			}
			if n, _ := res.RowsAffected(); n > 0 {
				st.Installs++
			}
		}
	}
	if err := f.tx.Commit(); err != nil {
		return gown.ImportStats{}, fmt.Errorf("%s: import: %w", s.d.Name, err)
	}
	st.Apps, st.Versions, st.Owners = len(f.apps), len(f.versions), len(f.owners)
	return st, nil
}

// FleetVersions walks every app version with its device count.
func (s *Store) FleetVersions(ctx context.Context, fn func(gown.FleetVersion) error) error {
	rows, err := collect(ctx, s.db, `SELECT a.platform, a.app_id, a.name, v.version,
		(SELECT COUNT(*) FROM fleet_installs i WHERE i.version_id = v.id)
		FROM fleet_versions v JOIN fleet_apps a ON a.id = v.app_id
		ORDER BY a.platform, a.app_id, v.version`, nil, func(r rowScanner) (gown.FleetVersion, error) {
		var v gown.FleetVersion
		var p string
		err := r.Scan(&p, &v.AppID, &v.Name, &v.Version, &v.Devices)
		v.Platform = gown.Platform(p)
		return v, err
	})
	if err != nil {
		return fmt.Errorf("%s: fleet versions: %w", s.d.Name, err)
	}
	for _, v := range rows {
		if err := fn(v); err != nil {
			return err
		}
	}
	return nil
}

// RecordFleetChecks ties a fleet scan to what it did with each version.
func (s *Store) RecordFleetChecks(ctx context.Context, scan gown.ScanID, checks []gown.FleetCheck) error {
	if _, err := s.Scan(ctx, scan); err != nil {
		return err
	}
	f, err := s.beginFleet(ctx)
	if err != nil {
		return fmt.Errorf("%s: fleet checks of scan %d: %w", s.d.Name, scan, err)
	}
	defer f.tx.Rollback()
	for _, c := range checks {
		app, err := f.app(ctx, c.Platform, c.AppID, "")
		if err == nil {
			var ver int64
			if ver, err = f.version(ctx, app, c.Version, c.SHA256); err == nil {
				err = f.check(ctx, scan, ver, c)
			}
		}
		if err != nil {
			return fmt.Errorf("%s: fleet checks of scan %d: %w", s.d.Name, scan, err)
		}
	}
	if err := f.tx.Commit(); err != nil {
		return fmt.Errorf("%s: fleet checks of scan %d: %w", s.d.Name, scan, err)
	}
	return nil
}

func (f *fleetTx) check(ctx context.Context, scan gown.ScanID, ver int64, c gown.FleetCheck) error {
	_, err := f.tx.ExecContext(ctx, f.s.q(`INSERT INTO fleet_checks (scan_id, version_id, state, file, sha256, reason) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (scan_id, version_id) DO UPDATE SET state = excluded.state, file = excluded.file, sha256 = excluded.sha256, reason = excluded.reason`),
		int64(scan), ver, c.State, c.File, c.SHA256, c.Reason)
	if err != nil {
		return fmt.Errorf("%s %s: %w", c.AppID, c.Version, err)
	}
	if _, err := f.tx.ExecContext(ctx, f.s.q(`DELETE FROM fleet_backends WHERE scan_id = ? AND version_id = ?`), int64(scan), ver); err != nil {
		return err
	}
	for _, b := range c.Backends {
		_, err := f.tx.ExecContext(ctx, f.s.q(`INSERT INTO fleet_backends (scan_id, version_id, host, port, endpoint) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT DO NOTHING`), int64(scan), ver, b.Host, b.Port, b.Endpoint)
		if err != nil {
			return fmt.Errorf("%s %s back end %s:%d: %w", c.AppID, c.Version, b.Host, b.Port, err)
		}
	}
	return nil
}

// FleetScans lists the scans holding fleet checks, newest first.
func (s *Store) FleetScans(ctx context.Context) ([]gown.ScanID, error) {
	ids, err := collect(ctx, s.db, `SELECT DISTINCT scan_id FROM fleet_checks ORDER BY scan_id DESC`, nil,
		func(r rowScanner) (gown.ScanID, error) {
			var id int64
			err := r.Scan(&id)
			return gown.ScanID(id), err
		})
	if err != nil {
		return nil, fmt.Errorf("%s: fleet scans: %w", s.d.Name, err)
	}
	return ids, nil
}
