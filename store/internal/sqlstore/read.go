package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/gownscan/gown"
)

// pageSize bounds how many services a reader holds at once.
const pageSize = 500

const serviceCols = `id, target_key, store, host, ip, port, hint, tls_hint, origin, product, version, status, reason,
	tls_mode, tls_version, tls_subject, tls_issuer, tls_not_after, tls_self_signed, has_inventory, items, bytes,
	truncated, details, error, started_at, duration_ns, exposure, signs, facts, path`

// service is a result being assembled from its rows.
type service struct {
	id       int64
	key      string
	r        *gown.Result
	findings []gown.Finding
}

// Results walks a scan's standalone findings, one call per subject, then
// its results ordered by host, port, store and target key, a page of
// services at a time: each page costs four queries whatever its size, and
// no query is open while fn runs.
func (s *Store) Results(ctx context.Context, scan gown.ScanID, fn func(*gown.Result, []gown.Finding) error) error {
	if err := s.standalone(ctx, int64(scan), fn); err != nil {
		return err
	}
	var after *service
	for {
		page, err := s.servicePage(ctx, int64(scan), after)
		if err != nil {
			return fmt.Errorf("%s: read scan %d: %w", s.d.Name, scan, err)
		}
		for _, sv := range page {
			if err := fn(sv.r, sv.findings); err != nil {
				return err
			}
		}
		if len(page) < pageSize {
			return nil
		}
		after = page[len(page)-1]
	}
}

// standaloneRow is a standalone finding with the keys its page ends on.
type standaloneRow struct {
	f   gown.Finding
	seq int
}

// standalone walks the scan's findings that have no service, ordered by
// subject (host, port), then as they were added; consecutive findings of one
// subject go to fn together.
func (s *Store) standalone(ctx context.Context, scan int64, fn func(*gown.Result, []gown.Finding) error) error {
	var group []gown.Finding
	flush := func() error {
		if len(group) == 0 {
			return nil
		}
		g := group
		group = nil
		return fn(nil, g)
	}
	var last *standaloneRow
	for {
		q, args := `SELECT o.scan_id, f.id, f.rule, f.store, f.host, f.ip, f.port, o.severity, o.title, o.items, o.bytes,
			o.classes, o.origin, o.locations, o.seq
			FROM occurrences o JOIN findings f ON f.id = o.finding_id WHERE o.scan_id = ? AND o.service_id IS NULL`, []any{scan}
		if last != nil {
			q += ` AND (f.host, f.port, o.seq, f.id) > (?, ?, ?, ?)`
			args = append(args, last.f.Target.Host, last.f.Target.Port, last.seq, last.f.ID)
		}
		q += ` ORDER BY f.host, f.port, o.seq, f.id LIMIT ` + fmt.Sprint(pageSize)
		page, err := collect(ctx, s.db, s.q(q), args, scanStandalone)
		if err != nil {
			return fmt.Errorf("%s: standalone findings of scan %d: %w", s.d.Name, scan, err)
		}
		for _, row := range page {
			if n := len(group); n > 0 && (group[n-1].Target.Host != row.f.Target.Host || group[n-1].Target.Port != row.f.Target.Port) {
				if err := flush(); err != nil {
					return err
				}
			}
			group = append(group, row.f)
		}
		if len(page) < pageSize {
			return flush()
		}
		last = &page[len(page)-1]
	}
}

func scanStandalone(r rowScanner) (standaloneRow, error) {
	var row standaloneRow
	f := &row.f
	var scan int64
	var ip, classes, locations string
	var sev int
	err := r.Scan(&scan, &f.ID, &f.Rule, &f.Store, &f.Target.Host, &ip, &f.Target.Port, &sev, &f.Title, &f.Items, &f.Bytes,
		&classes, &f.Target.Origin, &locations, &row.seq)
	if err != nil {
		return row, err
	}
	f.Severity, f.Target.Addr = gown.Severity(sev), parseAddr(ip)
	if err := unmarshalText(classes, &f.Classes); err != nil {
		return row, fmt.Errorf("classes of finding %s: %w", f.ID, err)
	}
	if err := unmarshalText(locations, &f.Locations); err != nil {
		return row, fmt.Errorf("locations of finding %s: %w", f.ID, err)
	}
	return row, nil
}

// unmarshalText reads a JSON text column; "" means none.
func unmarshalText(text string, v any) error {
	if text == "" {
		return nil
	}
	return json.Unmarshal([]byte(text), v)
}

// servicePage reads the services that follow after in result order.
func (s *Store) servicePage(ctx context.Context, scan int64, after *service) ([]*service, error) {
	q, args := `SELECT `+serviceCols+` FROM services WHERE scan_id = ?`, []any{scan}
	if after != nil {
		q += ` AND (host, port, store, target_key) > (?, ?, ?, ?)`
		args = append(args, after.r.Target.Host, after.r.Target.Port, after.r.Store, after.key)
	}
	q += ` ORDER BY host, port, store, target_key LIMIT ` + fmt.Sprint(pageSize)
	page, err := collect(ctx, s.db, s.q(q), args, scanService)
	if err != nil || len(page) == 0 {
		return page, err
	}
	byID := make(map[int64]*service, len(page))
	ids := make([]any, len(page))
	for i, sv := range page {
		byID[sv.id], ids[i] = sv, sv.id
	}
	in := "(" + strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",") + ")"
	if err := s.children(ctx, in, ids, byID); err != nil {
		return nil, err
	}
	return page, nil
}

// children fills the databases, evidence and findings of a page's services.
func (s *Store) children(ctx context.Context, in string, ids []any, byID map[int64]*service) error {
	err := each(ctx, s.db, s.q(`SELECT service_id, name, items, bytes, system FROM databases WHERE service_id IN `+in+` ORDER BY service_id, seq`), ids,
		func(r *sql.Rows) error {
			var id int64
			var d gown.Database
			if err := r.Scan(&id, &d.Name, &d.Items, &d.Bytes, &d.System); err != nil {
				return err
			}
			inv := byID[id].r.Inventory
			inv.Databases = append(inv.Databases, d)
			return nil
		})
	if err != nil {
		return err
	}
	err = each(ctx, s.db, s.q(`SELECT service_id, step, sent, received FROM evidence WHERE service_id IN `+in+` ORDER BY service_id, seq`), ids,
		func(r *sql.Rows) error {
			var id int64
			var e gown.Evidence
			if err := r.Scan(&id, &e.Step, &e.Sent, &e.Received); err != nil {
				return err
			}
			byID[id].r.Evidence = append(byID[id].r.Evidence, e)
			return nil
		})
	if err != nil {
		return err
	}
	return each(ctx, s.db, s.q(`SELECT o.service_id, f.id, f.rule, f.store, f.host, f.ip, f.port, o.severity, o.title, o.items, o.bytes, o.classes
		FROM occurrences o JOIN findings f ON f.id = o.finding_id WHERE o.service_id IN `+in+` ORDER BY o.service_id, o.seq`), ids,
		func(r *sql.Rows) error {
			var id int64
			var classes string
			f, err := scanFinding(&tail{r: r, last: &classes}, &id)
			if err != nil {
				return err
			}
			if classes != "" {
				if err := json.Unmarshal([]byte(classes), &f.Classes); err != nil {
					return fmt.Errorf("classes of finding %s: %w", f.ID, err)
				}
			}
			sv := byID[id]
			f.Target.Hint, f.Target.TLS, f.Target.Origin, f.Target.Path = sv.r.Target.Hint, sv.r.Target.TLS, sv.r.Target.Origin, sv.r.Target.Path
			sv.findings = append(sv.findings, f)
			return nil
		})
}

func scanFinding(r rowScanner, serviceID *int64) (gown.Finding, error) {
	var f gown.Finding
	var ip string
	var sev int
	if err := r.Scan(serviceID, &f.ID, &f.Rule, &f.Store, &f.Target.Host, &ip, &f.Target.Port, &sev, &f.Title, &f.Items, &f.Bytes); err != nil {
		return f, err
	}
	f.Severity, f.Target.Addr = gown.Severity(sev), parseAddr(ip)
	return f, nil
}

func scanService(r rowScanner) (*service, error) {
	sv := &service{r: &gown.Result{}}
	res, t := sv.r, &sv.r.Target
	var ip, status, mode, notAfter, details, started, exposure, signs, facts string
	var hasInv, truncated bool
	var items, bytes, dur int64
	err := r.Scan(&sv.id, &sv.key, &res.Store, &t.Host, &ip, &t.Port, &t.Hint, &t.TLS, &t.Origin, &res.Product,
		&res.Version, &status, &res.Reason, &mode, &res.TLS.Version, &res.TLS.Subject, &res.TLS.Issuer, &notAfter,
		&res.TLS.SelfSigned, &hasInv, &items, &bytes, &truncated, &details, &res.Error, &started, &dur, &exposure, &signs, &facts, &t.Path)
	if err != nil {
		return nil, err
	}
	t.Addr, res.Status, res.TLS.Mode = parseAddr(ip), gown.Status(status), gown.TLSMode(mode)
	res.TLS.NotAfter, res.Start, res.Duration = parseTime(notAfter), parseTime(started), time.Duration(dur)
	if hasInv {
		res.Inventory = &gown.Inventory{Items: uint64(items), Bytes: uint64(bytes), Truncated: truncated}
	}
	if details != "" {
		if err := json.Unmarshal([]byte(details), &res.Details); err != nil {
			return nil, fmt.Errorf("details of %s: %w", sv.key, err)
		}
	}
	if exposure != "" {
		res.Exposure = &gown.Exposure{}
		if err := json.Unmarshal([]byte(exposure), res.Exposure); err != nil {
			return nil, fmt.Errorf("exposure of %s: %w", sv.key, err)
		}
	}
	if signs != "" {
		if err := json.Unmarshal([]byte(signs), &res.Signs); err != nil {
			return nil, fmt.Errorf("signs of %s: %w", sv.key, err)
		}
	}
	if facts != "" {
		if err := json.Unmarshal([]byte(facts), &res.Facts); err != nil {
			return nil, fmt.Errorf("facts of %s: %w", sv.key, err)
		}
	}
	return sv, nil
}

// each runs a query and calls fn per row; fn must not call the store.
func each(ctx context.Context, db *sql.DB, query string, args []any, fn func(*sql.Rows) error) error {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func parseAddr(s string) netip.Addr {
	a, _ := netip.ParseAddr(s)
	return a
}

// keyPage is how many target keys DoneTargets reads per query.
const keyPage = 5000

// DoneTargets walks the keys of the scan's finished targets: those with a
// result in key order, then those that only finished, a stored batch at a
// time (each in key order).
func (s *Store) DoneTargets(ctx context.Context, scan gown.ScanID, fn func(string) error) error {
	last := ""
	for {
		keys, err := collect(ctx, s.db, s.q(`SELECT key FROM targets WHERE scan_id = ? AND key > ? ORDER BY key LIMIT `+fmt.Sprint(keyPage)),
			[]any{int64(scan), last}, func(r rowScanner) (string, error) {
				var k string
				return k, r.Scan(&k)
			})
		if err != nil {
			return fmt.Errorf("%s: done targets of scan %d: %w", s.d.Name, scan, err)
		}
		for _, k := range keys {
			if err := fn(k); err != nil {
				return err
			}
		}
		if len(keys) < keyPage {
			break
		}
		last = keys[len(keys)-1]
	}
	return s.closedKeys(ctx, scan, "", "", fn)
}

// closedPage is how many closed_targets rows (each up to a batch of keys)
// one query reads.
const closedPage = 16

// closedKeys walks the keys of the scan's closed_targets rows, or with lo
// and hi set, of the rows whose key range overlaps [lo, hi].
func (s *Store) closedKeys(ctx context.Context, scan gown.ScanID, lo, hi string, fn func(string) error) error {
	type row struct{ digest, keys string }
	q, args := `SELECT digest, keys FROM closed_targets WHERE scan_id = ? AND digest > ?`, []any{int64(scan)}
	ranged := lo != "" || hi != ""
	if ranged {
		q += ` AND lo <= ? AND hi >= ?`
	}
	q = s.q(q + ` ORDER BY digest LIMIT ` + fmt.Sprint(closedPage))
	last := ""
	for {
		a := append(args[:1:1], last)
		if ranged {
			a = append(a, hi, lo)
		}
		rows, err := collect(ctx, s.db, q, a, func(r rowScanner) (row, error) {
			var x row
			return x, r.Scan(&x.digest, &x.keys)
		})
		if err != nil {
			return fmt.Errorf("%s: finished targets of scan %d: %w", s.d.Name, scan, err)
		}
		for _, r := range rows {
			var keys []string
			if err := json.Unmarshal([]byte(r.keys), &keys); err != nil {
				return fmt.Errorf("%s: finished targets of scan %d, row %s: %w", s.d.Name, scan, r.digest, err)
			}
			for _, k := range keys {
				if err := fn(k); err != nil {
					return err
				}
			}
		}
		if len(rows) < closedPage {
			return nil
		}
		last = rows[len(rows)-1].digest
	}
}

// Findings walks every finding the store tracks, ordered by id.
func (s *Store) Findings(ctx context.Context, fn func(gown.StoredFinding) error) error {
	last := ""
	for {
		page, err := collect(ctx, s.db, s.q(`SELECT first_seen, id, rule, store, host, ip, port, severity, title, items, bytes, last_seen, path
			FROM findings WHERE id > ? ORDER BY id LIMIT `+fmt.Sprint(pageSize)), []any{last},
			func(r rowScanner) (gown.StoredFinding, error) {
				var sf gown.StoredFinding
				var first int64
				var path string
				f, err := scanFinding(&tail{r: r, last: &sf.LastSeen, more: &path}, &first)
				f.Target.Path = path
				sf.Finding, sf.FirstSeen = f, gown.ScanID(first)
				return sf, err
			})
		if err != nil {
			return fmt.Errorf("%s: findings: %w", s.d.Name, err)
		}
		for _, f := range page {
			if err := fn(f); err != nil {
				return err
			}
		}
		if len(page) < pageSize {
			return nil
		}
		last = page[len(page)-1].ID
	}
}

// tail appends one destination to a Scan, so scanFinding serves queries
// with an extra trailing column.
type tail struct {
	r    rowScanner
	last any
	more any // a further column after last, when set
}

func (t *tail) Scan(dest ...any) error {
	dest = append(dest, t.last)
	if t.more != nil {
		dest = append(dest, t.more)
	}
	return t.r.Scan(dest...)
}
