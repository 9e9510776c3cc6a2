package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
)

// Sampling starts up, as postgres without a password like Probe (with
// SSLRequest first unless the server predates it), on each database the
// inventory lists that is not system data, at most maxCountDBs, one
// connection each, and sends only two kinds of statement: the columns of
// the base tables this role may SELECT (a view may hide an arbitrarily
// costly query), with the primary key marked, from the system catalogs,
//
//	SELECT n.nspname, c.relname, a.attname, COALESCE(a.attnum = ANY (i.indkey::int2[]), false)
//	FROM pg_class c JOIN pg_namespace n ... JOIN pg_attribute a ... LEFT JOIN pg_index i ... AND i.indisprimary
//	WHERE c.relkind IN ('r', 'p') AND c.relpersistence <> 't'
//	AND c.relnamespace NOT IN (the oids of pg_catalog and information_schema) AND a.attnum > 0 AND NOT a.attisdropped
//	AND has_column_privilege(c.oid, a.attnum, 'SELECT') ... LIMIT 1000
//
// then per table, every identifier quoted,
//
//	SELECT left("c1"::text, 1024), ... FROM "schema"."table" LIMIT K
//
// and Terminate. left() bounds each value on the server; the session's
// message cap is raised to hold a row of sampleCols such values.
//
// The catalogs, not information_schema: its columns view joined with
// tables, table_constraints and key_column_usage took 12 ms of a fresh
// backend's time to plan and run on a one-table PostgreSQL 15 (psql
// \timing, three runs), the catalog query 1.8-3.1 ms, with the same rows;
// on the bench farm it was most of what sampling cost the servers. The
// privilege test also keeps out what the role may not read, where
// information_schema lists a column on any privilege (an INSERT-only
// grant) and the SELECT that followed failed. The system schemas are left
// out by their oids, in the scan of pg_class, so that the privilege test
// runs on the user tables' columns alone, not on the 600 of the system
// catalogs before their schema is known: a fresh session's run fell from
// 5.0 to 4.0 ms (pgbench -C, PostgreSQL 15, the bench farm's one table).
const sampleColumnsQuery = "SELECT n.nspname, c.relname, a.attname, COALESCE(a.attnum = ANY (i.indkey::int2[]), false) " +
	"FROM pg_catalog.pg_class c " +
	"JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace " +
	"JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid " +
	"LEFT JOIN pg_catalog.pg_index i ON i.indrelid = c.oid AND i.indisprimary " +
	"WHERE c.relkind IN ('r', 'p') AND c.relpersistence <> 't' " +
	"AND c.relnamespace NOT IN (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname IN ('pg_catalog', 'information_schema')) " +
	"AND a.attnum > 0 AND NOT a.attisdropped " +
	"AND has_column_privilege(c.oid, a.attnum, 'SELECT') " +
	"ORDER BY n.nspname, c.relname, a.attnum LIMIT 1000"

const (
	// sampleCols caps the columns read of one table.
	sampleCols = 64
	// sampleChars is the left() bound on one value, in characters;
	// sampleValueBytes the bytes that many UTF-8 characters may take.
	sampleChars      = 1024
	sampleValueBytes = 4 * sampleChars
	// sampleBody caps one message while sampling: a DataRow of sampleCols
	// values with their length words.
	sampleBody = sampleCols*(sampleValueBytes+4) + 64
)

var _ probe.Sampler = (*Prober)(nil)

// Sample reads K rows of each user table of each database the probe
// listed. A session the probe kept (kept, probe.Keep) serves its database
// first, and is closed before any other connection opens: a target never
// holds two.
func (p *Prober) Sample(ctx context.Context, t gown.Target, d probe.Dialer, r *gown.Result, lim probe.SampleLimits, emit func(gown.Sample) error) error {
	k, _ := r.Heard.(*kept)
	if k != nil {
		defer k.Close()
		if !k.s.conn.Rebind(ctx) {
			k.Close()
			k = nil
		}
	}
	if r.Inventory == nil {
		return nil
	}
	// SSLRequest first, as Probe, unless Probe found the server too old
	// for it or its TLS broken and got its verdict in plaintext.
	ssl := r.Details["ssl"] != "unsupported" && r.Details["ssl"] != "S, handshake failed"
	var dbs []string
	for _, db := range r.Inventory.Databases {
		if db.System || !validDB(db.Name) {
			continue
		}
		if len(dbs) == maxCountDBs {
			break
		}
		dbs = append(dbs, db.Name)
	}
	if k != nil {
		if i := slices.Index(dbs, k.db); i >= 0 {
			dbs = slices.Insert(slices.Delete(dbs, i, i+1), 0, k.db)
		} else {
			k.Close() // nothing to read there
			k = nil
		}
	}
	for i, db := range dbs {
		if err := ctx.Err(); err != nil {
			return err
		}
		var err error
		if i == 0 && k != nil {
			err = sampleSession(ctx, k.s, db, lim, emit)
			k.Close()
		} else {
			err = sampleDB(ctx, t, d, ssl, db, lim, emit)
		}
		if err != nil {
			if errors.Is(err, probe.ErrSampleFull) {
				return nil
			}
			return err
		}
	}
	return nil
}

// sampleDB reads one database over a session of its own. A startup the
// server refuses (a pg_hba line for some databases only, datallowconn
// off) reads nothing.
func sampleDB(ctx context.Context, t gown.Target, d probe.Dialer, ssl bool, db string, lim probe.SampleLimits, emit func(gown.Sample) error) error {
	s, err := open(ctx, t, d, ssl)
	if err != nil || s.serverErr != nil {
		if s != nil {
			s.close(false)
		}
		return err
	}
	rep, err := s.startup(db)
	defer func() { s.close(rep.Ready) }()
	if err != nil || !rep.Ready {
		return err
	}
	return sampleSession(ctx, s, db, lim, emit)
}

// sampleSession reads the tables of db over s, a ready session logged in
// to it.
func sampleSession(ctx context.Context, s *session, db string, lim probe.SampleLimits, emit func(gown.Sample) error) error {
	s.sample = true
	s.w.fe.SetMaxBodyLen(sampleBody)
	res, err := s.query("sample columns", sampleColumnsQuery)
	if err != nil || res.Err != nil {
		return err // a catalog this role may not read: nothing to sample
	}
	// One past the cap, so that a server with more tables shows as
	// truncated (SampleStore refuses the first record past it).
	for _, tb := range groupTables(res.Rows, lim.Collections+1) {
		if err := ctx.Err(); err != nil {
			return err
		}
		res, err := s.query("sample "+tb.schema+"."+tb.name, tb.selectRows(lim.PerCollection))
		if err != nil {
			return err
		}
		if res.Err != nil {
			continue // a table this role may not read
		}
		for _, row := range res.Rows[:min(len(res.Rows), lim.PerCollection)] {
			if err := emit(tb.sample(db, row)); err != nil {
				return err
			}
		}
	}
	return nil
}

// table is one base table and the columns sampling reads from it.
type table struct {
	schema, name string
	cols         []string
	key          int // index of the first primary-key column; -1 when none
}

// groupTables turns (schema, table, column, is_key) rows into tables, at
// most maxTables, each with at most sampleCols columns.
func groupTables(rows [][]string, maxTables int) []table {
	var out []table
	for _, row := range rows {
		if len(row) != 4 || row[0] == "" || row[1] == "" || row[2] == "" {
			continue
		}
		n := len(out)
		if n == 0 || out[n-1].schema != row[0] || out[n-1].name != row[1] {
			if n == maxTables {
				break
			}
			out = append(out, table{schema: row[0], name: row[1], key: -1})
			n++
		}
		tb := &out[n-1]
		if len(tb.cols) == sampleCols {
			continue
		}
		if row[3] == "t" && tb.key < 0 {
			tb.key = len(tb.cols)
		}
		tb.cols = append(tb.cols, row[2])
	}
	return out
}

// selectRows builds SELECT left("c1"::text, N), ... FROM "schema"."table"
// LIMIT k with every identifier quoted.
func (tb table) selectRows(k int) string {
	var b strings.Builder
	b.WriteString("SELECT ")
	for i, c := range tb.cols {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "left(%s::text, %d)", quoteIdent(c), sampleChars)
	}
	fmt.Fprintf(&b, " FROM %s.%s LIMIT %s", quoteIdent(tb.schema), quoteIdent(tb.name), strconv.Itoa(k))
	return b.String()
}

// sample turns one row into a record of database db. Tables outside the
// public schema are named schema.table. NULLs (and empty values, which
// the reply does not tell apart) are left out.
func (tb table) sample(db string, row []string) gown.Sample {
	x := gown.Sample{Database: db, Collection: tb.name}
	if tb.schema != "public" {
		x.Collection = tb.schema + "." + tb.name
	}
	for i, v := range row {
		if i >= len(tb.cols) || v == "" {
			continue
		}
		if i == tb.key {
			x.Key = v
		}
		x.Fields = append(x.Fields, gown.Field{Path: tb.cols[i], Value: v})
	}
	return x
}

// quoteIdent quotes a PostgreSQL identifier: double quotes around, inner
// ones doubled. NUL cannot appear in an identifier (nor in a query) and is
// dropped.
func quoteIdent(s string) string {
	s = strings.ReplaceAll(s, "\x00", "")
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}
