package postgres

import (
	"fmt"

	"github.com/gownscan/gown"
)

// queryTables names at most maxReadTables user tables of the session's
// database, those the catalog says the role may SELECT (any column) first:
// the catalog is readable by every role, so naming a table proves nothing,
// and the SELECT that follows decides.
const queryTables = "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace " +
	"WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') " +
	"AND n.nspname NOT LIKE 'pg\\_%' " +
	"ORDER BY has_any_column_privilege(c.oid, 'SELECT') DESC, 1, 2 LIMIT 5"

// maxReadTables bounds the tables tried per database (queryTables' LIMIT).
const maxReadTables = 5

// reads is what the reads of a non-superuser session found, over every
// database it tried.
type reads struct {
	on       bool   // the session is no superuser's: reads decide the verdict
	tables   int    // tables named and tried
	readable string // database.schema.table a SELECT read; "" when none
	refused  string // SQLSTATE of the last refused SELECT
	failed   error  // a read that neither answered nor was refused
}

// tryReads names up to maxReadTables tables of db over s and reads one row
// of each with SELECT 1 FROM "schema"."table" LIMIT 1 until one is allowed.
// An ErrorResponse (42501 permission denied) is a refusal; a failed
// exchange ends the reads.
func (r *run) tryReads(s *session, db string) {
	rd := &r.reads
	if !rd.on || rd.readable != "" || rd.failed != nil {
		return
	}
	res, err := s.query("name tables", queryTables)
	if err == nil && res.Err != nil {
		err = fmt.Errorf("postgres name tables on %s: %w", r.t, res.Err)
	}
	if err != nil {
		rd.failed = err
		return
	}
	for _, row := range res.Rows[:min(len(res.Rows), maxReadTables)] {
		if len(row) < 2 {
			continue
		}
		rd.tables++
		sel, err := s.query("select "+db+"."+row[0]+"."+row[1], "SELECT 1 FROM "+quoteIdent(row[0])+"."+quoteIdent(row[1])+" LIMIT 1")
		switch {
		case err != nil:
			rd.failed = err
			return
		case sel.Err != nil:
			rd.refused = sel.Err.Code
		default:
			rd.readable = db + "." + row[0] + "." + row[1]
			return
		}
	}
}

// readsVerdict settles a non-superuser session's verdict from its reads: a
// login is not a read.
func (r *run) readsVerdict() {
	rd := r.reads
	if !rd.on || r.res.Status != gown.StatusOpen {
		return
	}
	switch {
	case rd.readable != "":
		r.res.Detail("read", "select")
		r.res.Reason += "; no superuser, but SELECT reads its tables"
	case rd.failed != nil:
		// Cut off: the login is all that is known.
		r.addError(rd.failed)
	case rd.tables == 0:
		r.res.Status = gown.StatusRestricted
		r.res.Reason = "trust lets postgres in, but it is no superuser and no database it reached holds a table to read"
	default:
		r.res.Status = gown.StatusRestricted
		r.res.Reason = fmt.Sprintf("trust lets postgres in, but it is no superuser and SELECT is refused on each of the %d tables it names", rd.tables)
		if rd.refused != "" {
			r.res.Reason += " (SQLSTATE " + rd.refused + ")"
		}
	}
}
