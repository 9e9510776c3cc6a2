package postgres

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
)

// The statements gown runs to list and count (reads.go adds the reads that
// decide a non-superuser's session). Both read the catalog or the statistics
// views; the real-server test proves from the server log that nothing else
// is sent.
const (
	queryDatabases = "SELECT datname, pg_database_size(datname), datistemplate FROM pg_database ORDER BY 1 LIMIT 1000"
	// queryRows sums what pg_stat_user_tables shows as n_live_tup, from the
	// function the view calls, over the relations the view lists (tables,
	// materialized views and partitioned ones outside the system and TOAST
	// schemas), without the view's other twenty columns: 2.9 ms against
	// 3.5 ms a fresh session (pgbench -C, PostgreSQL 15).
	queryRows = "SELECT COALESCE(SUM(pg_stat_get_live_tuples(c.oid)),0) FROM pg_catalog.pg_class c " +
		"JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'm', 'p') " +
		"AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'"
)

// maxCountDBs caps the extra connections made to count rows, one per
// database: a server with thousands of databases must not get thousands of
// logins from one probe.
const maxCountDBs = 20

// dbRow is one line of pg_database.
type dbRow struct {
	name     string
	bytes    uint64
	template bool
}

// parseDatabases reads queryDatabases' rows; a NULL size (a database dropped
// while listed) counts as 0.
func parseDatabases(rows [][]string) []dbRow {
	out := make([]dbRow, 0, len(rows))
	for _, row := range rows {
		if len(row) < 3 {
			continue
		}
		size, _ := parseCount(row[1])
		out = append(out, dbRow{name: row[0], bytes: size, template: row[2] == "t"})
	}
	return out
}

// parseCount reads a non-negative integer as PostgreSQL prints bigint or
// numeric (SUM over bigint is numeric, which a fork may print with a fraction).
func parseCount(s string) (uint64, error) {
	if n, err := strconv.ParseUint(s, 10, 64); err == nil {
		return n, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	switch {
	case err != nil || f < 0 || math.IsNaN(f):
		return 0, fmt.Errorf("%w: not a count: %q", gown.ErrProtocol, s)
	case f >= math.MaxUint64:
		return math.MaxUint64, nil
	}
	return uint64(f), nil
}

// inventory lists the databases over the open session s (connected to db)
// and counts rows in each: db's over s, the others over one connection each.
// It closes s before it opens the next, so that a target never holds more
// than one connection (--per-host counts them).
func (r *run) inventory(s *session, db string, useTLS bool) {
	r.tryReads(s, db)
	res, err := s.query("list databases", queryDatabases)
	if err == nil && res.Err != nil {
		err = fmt.Errorf("postgres list databases on %s: %w", r.t, res.Err)
	}
	if err != nil {
		r.done(s, true)
		r.addError(err)
		return
	}
	dbs := parseDatabases(res.Rows)
	items := map[string]uint64{}
	if n, err := r.count(s); err != nil {
		r.addError(err)
	} else {
		items[db] = n
	}
	var others []string
	cut := false
	for _, d := range dbs {
		if d.template || d.name == db || !validDB(d.name) {
			continue
		}
		if len(others) == maxCountDBs {
			cut = true
			break
		}
		others = append(others, d.name)
	}
	if len(others) == 0 {
		r.keep(s, db, useTLS, &r.evidence)
	} else {
		r.done(s, true)
	}
	for i, name := range others {
		if r.ctx.Err() != nil {
			cut = true
			break
		}
		if n, ok := r.countIn(name, useTLS, i == len(others)-1); ok {
			items[name] = n
		}
	}
	if err := r.ctx.Err(); err != nil {
		r.addError(fmt.Errorf("postgres count rows on %s: %w", r.t, err))
	}
	// Truncated also when databases went uncounted for the cap or the
	// deadline: Items is then a lower bound.
	r.res.Inventory = build(dbs, items, cut || len(res.Rows) >= maxRows)
	r.res.Detail("items", fmt.Sprintf("live rows of user tables from the statistics (n_live_tup), counted in %d of %d databases", len(items), len(dbs)))
}

// count sums the live rows of the user tables in the session's database.
func (r *run) count(s *session) (uint64, error) {
	res, err := s.query("count rows", queryRows)
	if err == nil && res.Err != nil {
		err = fmt.Errorf("postgres count rows on %s: %w", r.t, res.Err)
	}
	if err != nil {
		return 0, err
	}
	if len(res.Rows) != 1 || len(res.Rows[0]) != 1 {
		return 0, fmt.Errorf("postgres count rows on %s: %w: %d rows", r.t, gown.ErrProtocol, len(res.Rows))
	}
	n, err := parseCount(res.Rows[0][0])
	if err != nil {
		return 0, fmt.Errorf("postgres count rows on %s: %w", r.t, err)
	}
	return n, nil
}

// countIn logs in to one more database and counts its rows. A refusal (a
// pg_hba line for some databases only, datallowconn off) just leaves that
// database uncounted.
//
// The last one's session (last) may be kept for sampling.
func (r *run) countIn(db string, useTLS, last bool) (uint64, bool) {
	s, rep, err := r.login(useTLS, db)
	if s == nil {
		return 0, false
	}
	if err != nil || !rep.Ready {
		r.counted = append(r.counted, s.close(rep.Ready)...)
		return 0, false
	}
	n, err := r.count(s)
	r.tryReads(s, db)
	if last {
		r.keep(s, db, useTLS, &r.counted)
	} else {
		r.counted = append(r.counted, s.close(true)...)
	}
	return n, err == nil
}

// keep ends the probe's use of the ready session s on db: it is left open
// for the sampler when the engine will sample (probe.Keep) and no other
// connection follows it (with TLS offered, the plaintext check does), and
// closed otherwise. Its evidence so far goes to ev either way (the main
// session's or the counting sessions').
func (r *run) keep(s *session, db string, useTLS bool, ev *[]gown.Evidence) {
	k := &kept{s, db}
	if useTLS || !probe.Keep(r.ctx, k) {
		*ev = append(*ev, s.close(true)...)
		return
	}
	*ev = append(*ev, s.conn.Evidence()...)
	r.res.Heard = k
}

// build assembles the inventory. Templates are system data; so is the
// postgres database, the default maintenance database every cluster has,
// unless it holds rows of its own: then someone keeps data there.
func build(dbs []dbRow, items map[string]uint64, truncated bool) *gown.Inventory {
	inv := &gown.Inventory{Truncated: truncated}
	for _, d := range dbs {
		n := items[d.name]
		inv.Add(gown.Database{
			Name:   d.name,
			Items:  n,
			Bytes:  d.bytes,
			System: d.template || (strings.EqualFold(d.name, defaultDB) && n == 0),
		})
	}
	return inv
}
