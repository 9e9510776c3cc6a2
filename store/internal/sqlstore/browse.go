package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/gownscan/gown"
)

var _ gown.Browser = (*Store)(nil)

// answered is the SQL form of gown.Status.Answered.
const answered = `status NOT IN ('closed', 'filtered', 'error', '')`

// findingPageCols are a findings-list row: the finding as the scan saw it
// and a few words of its result (NULL for a standalone finding).
const findingPageCols = `f.id, f.rule, f.store, f.host, f.ip, f.port, o.severity, o.title, o.items, o.bytes,
	o.classes, o.origin, o.locations, COALESCE(s.product, ''), COALESCE(s.version, ''), COALESCE(s.status, ''),
	COALESCE(s.tls_mode, ''), COALESCE(s.hint, ''), COALESCE(s.tls_hint, FALSE), COALESCE(s.origin, ''), f.path`

// sortCols maps a sort to its columns; the finding id ends every order.
var sortCols = map[gown.FindingSort][]string{
	gown.SortSeverity: {"o.severity"},
	gown.SortTarget:   {"f.host", "f.port"},
	gown.SortStore:    {"f.store"},
	gown.SortRule:     {"f.rule"},
	gown.SortItems:    {"o.items"},
	gown.SortBytes:    {"o.bytes"},
}

// FindingPage reads one page of a scan's findings with the database doing
// the filtering, ordering and counting: nothing but the page is loaded.
func (s *Store) FindingPage(ctx context.Context, scan gown.ScanID, q gown.FindingQuery) (gown.FindingPage, error) {
	var page gown.FindingPage
	cols, ok := sortCols[cmpOr(q.Sort, gown.SortSeverity)]
	if !ok {
		return page, fmt.Errorf("findings of scan %d: unknown sort %q", scan, q.Sort)
	}
	if q.Offset < 0 || q.Limit < 0 || q.Limit > gown.MaxFindingPage {
		return page, fmt.Errorf("findings of scan %d: offset %d, limit %d: want offset >= 0 and 0 <= limit <= %d", scan, q.Offset, q.Limit, gown.MaxFindingPage)
	}
	limit := q.Limit
	if limit == 0 {
		limit = 100
	}
	where, args, joins := findingFilter(scan, q)
	if err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM occurrences o `+joins+` WHERE `+where), args...).Scan(&page.Total); err != nil {
		return page, fmt.Errorf("%s: count findings of scan %d: %w", s.d.Name, scan, err)
	}
	dir := " DESC"
	if q.Asc {
		dir = " ASC"
	}
	order := make([]string, 0, len(cols)+1)
	for _, c := range append(cols, "o.finding_id") {
		order = append(order, c+dir)
	}
	if cols[0][0] == 'f' && !strings.Contains(joins, "findings f") {
		joins += ` JOIN findings f ON f.id = o.finding_id`
	}
	// The page is chosen from occurrences alone (with the findings joined
	// only when a filter or the order needs them), then only its rows are
	// joined to their findings and services: joining all 100,000 first
	// costs a second in SQLite.
	inner := `SELECT o.* FROM occurrences o ` + joins + ` WHERE ` + where + ` ORDER BY ` + strings.Join(order, ", ") +
		fmt.Sprintf(" LIMIT %d OFFSET %d", limit, q.Offset)
	query := `SELECT ` + findingPageCols + ` FROM (` + inner + `) o JOIN findings f ON f.id = o.finding_id
		LEFT JOIN services s ON s.id = o.service_id ORDER BY ` + strings.Join(order, ", ")
	rows, err := collect(ctx, s.db, s.q(query), args, scanFindingRow)
	if err != nil {
		return page, fmt.Errorf("%s: findings of scan %d: %w", s.d.Name, scan, err)
	}
	page.Rows = rows
	return page, nil
}

func cmpOr(s, def gown.FindingSort) gown.FindingSort {
	if s == "" {
		return def
	}
	return s
}

// findingFilter is the WHERE clause a query's filters make, with its
// arguments and the joins it needs (none for severity and class).
func findingFilter(scan gown.ScanID, q gown.FindingQuery) (string, []any, string) {
	conds, args := []string{"o.scan_id = ?"}, []any{int64(scan)}
	joins := ""
	if q.Store != "" || q.Rule != "" || q.Host != "" {
		joins += ` JOIN findings f ON f.id = o.finding_id`
	}
	if q.Origin != "" {
		joins += ` LEFT JOIN services s ON s.id = o.service_id`
	}
	if len(q.Severities) > 0 {
		conds = append(conds, "o.severity IN ("+strings.TrimSuffix(strings.Repeat("?,", len(q.Severities)), ",")+")")
		for _, v := range q.Severities {
			args = append(args, int(v))
		}
	}
	if q.Store != "" {
		conds, args = append(conds, "f.store = ?"), append(args, q.Store)
	}
	if q.Rule != "" {
		conds, args = append(conds, "f.rule = ?"), append(args, q.Rule)
	}
	if q.Host != "" {
		conds, args = append(conds, "f.host = ?"), append(args, q.Host)
	}
	if q.Origin != "" {
		// A standalone finding keeps its subject's origin; a service's
		// findings take the service's.
		conds, args = append(conds, "COALESCE(s.origin, o.origin) = ?"), append(args, q.Origin)
	}
	if q.Class != "" {
		// classes is a JSON array of names: match the quoted name, with
		// LIKE's wildcards escaped so a class name matches only itself.
		esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(q.Class)
		conds, args = append(conds, `o.classes LIKE ? ESCAPE '\'`), append(args, `%"`+esc+`"%`)
	}
	return strings.Join(conds, " AND "), args, joins
}

func scanFindingRow(r rowScanner) (gown.FindingRow, error) {
	var row gown.FindingRow
	f := &row.Finding
	var ip, classes, origin, locations, status, mode, hint, svcOrigin string
	var sev int
	var tlsHint bool
	err := r.Scan(&f.ID, &f.Rule, &f.Store, &f.Target.Host, &ip, &f.Target.Port, &sev, &f.Title, &f.Items, &f.Bytes,
		&classes, &origin, &locations, &row.Product, &row.Version, &status, &mode, &hint, &tlsHint, &svcOrigin, &f.Target.Path)
	if err != nil {
		return row, err
	}
	f.Severity, f.Target.Addr = gown.Severity(sev), parseAddr(ip)
	row.Status, row.TLS = gown.Status(status), gown.TLSMode(mode)
	f.Target.Origin, f.Target.Hint, f.Target.TLS = firstNonEmpty(svcOrigin, origin), hint, tlsHint
	if err := unmarshalText(classes, &f.Classes); err != nil {
		return row, fmt.Errorf("classes of finding %s: %w", f.ID, err)
	}
	if err := unmarshalText(locations, &f.Locations); err != nil {
		return row, fmt.Errorf("locations of finding %s: %w", f.ID, err)
	}
	return row, nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Facets counts a scan's findings by severity and lists its store kinds,
// with two indexed queries: what a findings page's filters offer.
func (s *Store) Facets(ctx context.Context, scan gown.ScanID) (gown.Facets, error) {
	var fc gown.Facets
	err := each(ctx, s.db, s.q(`SELECT severity, COUNT(*) FROM occurrences WHERE scan_id = ? GROUP BY severity`), []any{int64(scan)},
		func(r *sql.Rows) error {
			var sev int
			var n int64
			if err := r.Scan(&sev, &n); err != nil {
				return err
			}
			if sev >= 0 && sev <= int(gown.SeverityCritical) {
				fc.BySeverity[sev] += n
			}
			return nil
		})
	if err != nil {
		return fc, fmt.Errorf("%s: severities of scan %d: %w", s.d.Name, scan, err)
	}
	fc.Stores, err = collect(ctx, s.db, s.q(`SELECT DISTINCT store FROM services WHERE scan_id = ? ORDER BY store`), []any{int64(scan)},
		func(r rowScanner) (string, error) {
			var st string
			return st, r.Scan(&st)
		})
	if err != nil {
		return fc, fmt.Errorf("%s: stores of scan %d: %w", s.d.Name, scan, err)
	}
	return fc, nil
}

// maxClassGroups caps the distinct class lists a summary reads: a store
// written from hostile input must not make one page read without bound.
const maxClassGroups = 4096

// ScanSummary counts a scan's services, exposure and findings with
// aggregate queries.
func (s *Store) ScanSummary(ctx context.Context, scan gown.ScanID) (gown.ScanSummary, error) {
	var sum gown.ScanSummary
	meta, err := s.Scan(ctx, scan)
	if err != nil {
		return sum, err
	}
	sum.Scan = meta
	wrap := func(what string, err error) error {
		return fmt.Errorf("%s: %s of scan %d: %w", s.d.Name, what, scan, err)
	}
	// Sums are taken as floating point: a hostile server's saturated
	// counts would overflow an integer SUM (an error in both databases).
	stores, err := collect(ctx, s.db, s.q(`SELECT store, COUNT(*),
		SUM(CASE WHEN status = 'open' THEN 1 ELSE 0 END),
		SUM(CAST(CASE WHEN status = 'open' THEN items ELSE 0 END AS DOUBLE PRECISION)),
		SUM(CAST(CASE WHEN status = 'open' THEN bytes ELSE 0 END AS DOUBLE PRECISION))
		FROM services WHERE scan_id = ? AND `+answered+` GROUP BY store ORDER BY store`), []any{int64(scan)},
		func(r rowScanner) (gown.StoreCount, error) {
			var c gown.StoreCount
			var items, bytes float64
			err := r.Scan(&c.Store, &c.Services, &c.Open, &items, &bytes)
			c.Items, c.Bytes = toCount(items), toCount(bytes)
			return c, err
		})
	if err != nil {
		return sum, wrap("services", err)
	}
	sum.ByStore = stores
	for _, c := range stores {
		sum.Services += c.Services
		sum.Open += c.Open
		sum.Items, sum.Bytes = satAdd(sum.Items, c.Items), satAdd(sum.Bytes, c.Bytes)
	}
	if err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(DISTINCT host) FROM services WHERE scan_id = ? AND `+answered),
		int64(scan)).Scan(&sum.Hosts); err != nil {
		return sum, wrap("hosts", err)
	}
	err = each(ctx, s.db, s.q(`SELECT severity, COUNT(*) FROM occurrences WHERE scan_id = ? GROUP BY severity`), []any{int64(scan)},
		func(r *sql.Rows) error {
			var sev int
			var n int64
			if err := r.Scan(&sev, &n); err != nil {
				return err
			}
			if sev >= 0 && sev <= int(gown.SeverityCritical) {
				sum.BySeverity[sev] += n
			}
			return nil
		})
	if err != nil {
		return sum, wrap("severities", err)
	}
	if sum.ByClass, err = s.classCounts(ctx, scan); err != nil {
		return sum, wrap("classes", err)
	}
	if err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(DISTINCT f.host) FROM occurrences o JOIN findings f ON f.id = o.finding_id
		WHERE o.scan_id = ? AND o.service_id IS NULL AND o.origin = 'app'`), int64(scan)).Scan(&sum.Apps); err != nil {
		return sum, wrap("apps", err)
	}
	return sum, nil
}

// classCounts counts the findings naming each class: the database groups
// the findings by their class lists (few distinct ones), Go splits them.
func (s *Store) classCounts(ctx context.Context, scan gown.ScanID) ([]gown.NameCount, error) {
	counts := map[string]int64{}
	err := each(ctx, s.db, s.q(`SELECT classes, COUNT(*) FROM occurrences WHERE scan_id = ? AND classes <> ''
		GROUP BY classes LIMIT `+fmt.Sprint(maxClassGroups)), []any{int64(scan)}, func(r *sql.Rows) error {
		var text string
		var n int64
		if err := r.Scan(&text, &n); err != nil {
			return err
		}
		var classes []string
		if err := unmarshalText(text, &classes); err != nil {
			return fmt.Errorf("class list %q: %w", text, err)
		}
		for _, c := range classes {
			counts[c] += n
		}
		return nil
	})
	out := make([]gown.NameCount, 0, len(counts))
	for name, n := range counts {
		out = append(out, gown.NameCount{Name: name, Count: n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Name < out[j].Name
	})
	return out, err
}

// MaxTrend caps how many scans a trend covers.
const MaxTrend = 200

// Trend summarises the newest n scans, oldest first, with two grouped
// queries over all of them.
func (s *Store) Trend(ctx context.Context, n int) ([]gown.TrendPoint, error) {
	if n <= 0 || n > MaxTrend {
		return nil, fmt.Errorf("trend over %d scans: want 1 to %d", n, MaxTrend)
	}
	ids, err := collect(ctx, s.db, s.q(`SELECT id FROM scans ORDER BY id DESC LIMIT `+fmt.Sprint(n)), nil,
		func(r rowScanner) (int64, error) {
			var id int64
			return id, r.Scan(&id)
		})
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	points := make([]gown.TrendPoint, len(ids))
	at := map[int64]*gown.TrendPoint{}
	args := make([]any, len(ids))
	for i, id := range ids {
		p := &points[len(ids)-1-i]
		if p.Meta, err = s.Scan(ctx, gown.ScanID(id)); err != nil {
			return nil, err
		}
		at[id], args[i] = p, id
	}
	in := "(" + strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",") + ")"
	err = each(ctx, s.db, s.q(`SELECT scan_id, severity, COUNT(*) FROM occurrences WHERE scan_id IN `+in+` GROUP BY scan_id, severity`), args,
		func(r *sql.Rows) error {
			var id, n int64
			var sev int
			if err := r.Scan(&id, &sev, &n); err != nil {
				return err
			}
			if p := at[id]; p != nil && sev >= 0 && sev <= int(gown.SeverityCritical) {
				p.BySeverity[sev] += n
			}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("%s: trend: %w", s.d.Name, err)
	}
	err = each(ctx, s.db, s.q(`SELECT scan_id, COUNT(*), SUM(CAST(items AS DOUBLE PRECISION)), SUM(CAST(bytes AS DOUBLE PRECISION))
		FROM services WHERE scan_id IN `+in+` AND status = 'open' GROUP BY scan_id`), args,
		func(r *sql.Rows) error {
			var id, open int64
			var items, bytes float64
			if err := r.Scan(&id, &open, &items, &bytes); err != nil {
				return err
			}
			if p := at[id]; p != nil {
				p.Open, p.Items, p.Bytes = open, toCount(items), toCount(bytes)
			}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("%s: trend: %w", s.d.Name, err)
	}
	return points, nil
}

// maxApps caps the apps listed.
const maxApps = 1000

// Apps lists the apps with findings about their own code.
func (s *Store) Apps(ctx context.Context) ([]gown.AppSummary, error) {
	apps, err := collect(ctx, s.db, s.q(`SELECT f.host, MAX(o.scan_id), MIN(o.scan_id) FROM occurrences o JOIN findings f ON f.id = o.finding_id
		WHERE o.service_id IS NULL AND o.origin = 'app' GROUP BY f.host ORDER BY f.host LIMIT `+fmt.Sprint(maxApps)), nil,
		func(r rowScanner) (gown.AppSummary, error) {
			var a gown.AppSummary
			return a, r.Scan(&a.ID, &a.Scan, &a.FirstSeen)
		})
	if err != nil {
		return nil, fmt.Errorf("%s: apps: %w", s.d.Name, err)
	}
	for i := range apps {
		a := &apps[i]
		var worst int
		err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*), COALESCE(MAX(o.severity), 0) FROM occurrences o JOIN findings f ON f.id = o.finding_id
			WHERE o.scan_id = ? AND f.host = ? AND o.service_id IS NULL AND o.origin = 'app'`), int64(a.Scan), a.ID).Scan(&a.Findings, &worst)
		if err != nil {
			return nil, fmt.Errorf("%s: app %q: %w", s.d.Name, a.ID, err)
		}
		a.Worst = gown.Severity(worst)
	}
	return apps, nil
}

// FindingDetail reads one finding of a scan with its whole result.
func (s *Store) FindingDetail(ctx context.Context, scan gown.ScanID, id string) (gown.FindingDetail, error) {
	var d gown.FindingDetail
	var sid sql.NullInt64
	var ip, classes, origin, locations string
	var sev int
	var first, last int64
	f := &d.Finding
	err := s.db.QueryRowContext(ctx, s.q(`SELECT o.service_id, f.id, f.rule, f.store, f.host, f.ip, f.port, o.severity, o.title,
		o.items, o.bytes, o.classes, o.origin, o.locations, f.first_seen, f.last_seen, f.path
		FROM occurrences o JOIN findings f ON f.id = o.finding_id WHERE o.scan_id = ? AND o.finding_id = ?`), int64(scan), id).
		Scan(&sid, &f.ID, &f.Rule, &f.Store, &f.Target.Host, &ip, &f.Target.Port, &sev, &f.Title, &f.Items, &f.Bytes,
			&classes, &origin, &locations, &first, &last, &f.Target.Path)
	if errors.Is(err, sql.ErrNoRows) {
		return d, fmt.Errorf("finding %q of scan %d: %w", id, scan, gown.ErrNoFinding)
	}
	if err != nil {
		return d, fmt.Errorf("%s: finding %q of scan %d: %w", s.d.Name, id, scan, err)
	}
	f.Severity, f.Target.Addr, f.Target.Origin = gown.Severity(sev), parseAddr(ip), origin
	d.FirstSeen, d.LastSeen = gown.ScanID(first), gown.ScanID(last)
	if err := unmarshalText(classes, &f.Classes); err != nil {
		return d, fmt.Errorf("classes of finding %s: %w", f.ID, err)
	}
	if err := unmarshalText(locations, &f.Locations); err != nil {
		return d, fmt.Errorf("locations of finding %s: %w", f.ID, err)
	}
	if !sid.Valid {
		return d, nil
	}
	page, err := collect(ctx, s.db, s.q(`SELECT `+serviceCols+` FROM services WHERE id = ?`), []any{sid.Int64}, scanService)
	if err != nil || len(page) != 1 {
		return d, fmt.Errorf("%s: service of finding %q: %d rows, %w", s.d.Name, id, len(page), err)
	}
	sv := page[0]
	// children also fills the service's findings, which the detail does
	// not need; one service's are few.
	if err := s.children(ctx, "(?)", []any{sv.id}, map[int64]*service{sv.id: sv}); err != nil {
		return d, fmt.Errorf("%s: service of finding %q: %w", s.d.Name, id, err)
	}
	d.Result = sv.r
	f.Target.Hint, f.Target.TLS, f.Target.Origin = sv.r.Target.Hint, sv.r.Target.TLS, sv.r.Target.Origin
	return d, nil
}

// toCount turns a floating-point sum back into a count, saturating.
func toCount(v float64) uint64 {
	switch {
	case v <= 0 || math.IsNaN(v):
		return 0
	case v >= math.MaxUint64:
		return math.MaxUint64
	}
	return uint64(v)
}

func satAdd(a, b uint64) uint64 {
	if a+b < a {
		return math.MaxUint64
	}
	return a + b
}

// DashboardToken returns the hex SHA-256 of the dashboard's access token,
// and false when none was set.
func (s *Store) DashboardToken(ctx context.Context) (string, bool, error) {
	var h string
	err := s.db.QueryRowContext(ctx, `SELECT hash FROM dashboard_tokens ORDER BY id DESC LIMIT 1`).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("%s: dashboard token: %w", s.d.Name, err)
	}
	return h, true, nil
}

// SetDashboardToken replaces the dashboard's token hash.
func (s *Store) SetDashboardToken(ctx context.Context, hash string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM dashboard_tokens`); err != nil {
		return fmt.Errorf("%s: dashboard token: %w", s.d.Name, err)
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO dashboard_tokens (id, hash, created_at) VALUES (1, ?, ?)`), hash, fmtTime(time.Now())); err != nil {
		return fmt.Errorf("%s: dashboard token: %w", s.d.Name, err)
	}
	return tx.Commit()
}
