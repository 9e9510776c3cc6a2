package mysql

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
	"github.com/gownscan/gown/probe/flatten"
)

// Sampling logs in again, on one connection, as the account the probe found
// open (root or anonymous, with an empty password, over TLS when the server
// requires it) and sends only SELECTs: the columns of the user tables (base
// tables only: a view may hide an arbitrarily costly query), then per table
//
//	SELECT LEFT(`c1`, 1024), ... FROM `schema`.`table` LIMIT K
//
// with every identifier quoted. LEFT bounds each value on the server, so a
// BLOB column costs at most 1024 characters per row. The server's own
// schemas are skipped; a table that refuses (a grant on some tables only)
// is skipped. A row's key is its primary key's value where the table has
// one. Then COM_QUIT.
//
// The base tables are picked by a subquery, not a join: MariaDB 10.11 runs
// the join as a lookup of information_schema.tables per column (4-7.5 ms of
// the server's time on a one-table server, SHOW PROFILES), the subquery as
// one listing (0.7 ms), with the same rows.
const columnsQuery = "SELECT c.table_schema, c.table_name, c.column_name, c.column_key " +
	"FROM information_schema.columns c WHERE c.table_schema NOT IN " + systemSchemaList + " " +
	"AND (c.table_schema, c.table_name) IN (SELECT table_schema, table_name FROM information_schema.tables " +
	"WHERE table_type IN ('BASE TABLE', 'SYSTEM VERSIONED') AND table_schema NOT IN " + systemSchemaList + ") " +
	"ORDER BY c.table_schema, c.table_name, c.ordinal_position LIMIT "

const (
	// maxColumnRows caps the column listing read (tables × columns).
	maxColumnRows = 4000
	// sampleValue is the LEFT() bound on one value, in characters.
	sampleValue = 1024
	// samplePacket caps one row packet: maxColumns values of sampleValue
	// characters of up to four bytes each, with their length prefixes.
	samplePacket = maxColumns*(4*sampleValue+9) + 64
)

var _ probe.Sampler = (*Prober)(nil)

// Sample reads K rows of each user table, as the account that logged in
// without a password.
func (p *Prober) Sample(ctx context.Context, t gown.Target, d probe.Dialer, r *gown.Result, lim probe.SampleLimits, emit func(gown.Sample) error) error {
	k, _ := r.Heard.(*kept)
	if k != nil {
		defer k.Close()
	}
	user, ok := sampleUser(r.Details["login"])
	if !ok {
		return nil
	}
	if k != nil && k.user == user && k.s.c.Rebind(ctx) {
		// The probe's own login, kept: no second login.
		return sampleSession(ctx, t, k.s, lim, emit)
	}
	if k != nil {
		k.Close() // closed before another connection opens
	}
	c, err := d.Dial(ctx, t)
	if err != nil {
		return fmt.Errorf("mysql sample dial %s: %w", t, err)
	}
	defer c.Close()
	s := newSession(c)
	g, refused, err := readGreeting(s.br)
	switch {
	case err != nil:
		return fmt.Errorf("mysql sample greeting from %s: %w", t, err)
	case refused != nil:
		return fmt.Errorf("mysql sample on %s: %w", t, refused)
	}
	s.greet, s.seq = g, 1
	if r.TLS.Mode == gown.TLSRequired {
		if err := s.startTLS(probe.ServerName(t)); err != nil {
			return fmt.Errorf("mysql sample TLS on %s: %w", t, err)
		}
	}
	if se, err := s.login(user); err != nil || se != nil {
		if se != nil {
			err = se
		}
		return fmt.Errorf("mysql sample login on %s: %w", t, err)
	}
	defer s.quit()
	return sampleSession(ctx, t, s, lim, emit)
}

// sampleSession reads the tables over s, a logged-in session.
func sampleSession(ctx context.Context, t gown.Target, s *session, lim probe.SampleLimits, emit func(gown.Sample) error) error {
	// One past the cap, so that a server with more tables shows as
	// truncated (SampleStore refuses the first record past it).
	tables, err := s.columns(lim.Collections + 1)
	if err != nil {
		return fmt.Errorf("mysql sample columns on %s: %w", t, err)
	}
	for _, tb := range tables {
		if err := ctx.Err(); err != nil {
			return err
		}
		rows, err := s.query(selectRows(tb, lim.PerCollection), lim.PerCollection)
		var se *serverError
		if errors.As(err, &se) {
			continue // a table this account may not read
		}
		if err != nil {
			return fmt.Errorf("mysql sample %s.%s on %s: %w", cleanText([]byte(tb.schema), 64), cleanText([]byte(tb.name), 64), t, err)
		}
		for _, row := range rows {
			if err := emit(tb.sample(row)); err != nil {
				if errors.Is(err, probe.ErrSampleFull) {
					return nil
				}
				return err
			}
		}
	}
	return nil
}

// sampleUser is the account a probe's login detail names.
func sampleUser(login string) (string, bool) {
	// as logins(), checkTLS() and openVerdict() record it: a root login an
	// anonymous account answered reads "root with empty password, as the
	// account @%", and logging in as root again reaches that account.
	switch {
	case strings.HasPrefix(login, "root with empty password"):
		return "root", true
	case login == "anonymous":
		return "", true
	}
	return "", false
}

// table is one user table and the columns sampling reads from it.
type table struct {
	schema, name string
	cols         []string
	key          int // index of the first primary-key column; -1 when none
}

// sample turns one row into a record.
func (tb table) sample(row []value) gown.Sample {
	x := gown.Sample{Database: tb.schema, Collection: tb.name}
	for i, v := range row {
		if i >= len(tb.cols) || v.null {
			continue
		}
		if i == tb.key {
			x.Key = clipValue(v.s)
		}
		x.Fields = append(x.Fields, gown.Field{Path: tb.cols[i], Value: clipValue(v.s)})
	}
	return x
}

func clipValue(s string) string {
	if len(s) > flatten.MaxValue {
		return s[:flatten.MaxValue]
	}
	return s
}

// columns lists the user tables with their first maxColumns columns, at
// most maxTables tables.
func (s *session) columns(maxTables int) ([]table, error) {
	rows, err := s.query(columnsQuery+strconv.Itoa(maxColumnRows), maxColumnRows)
	if err != nil {
		return nil, err
	}
	return groupColumns(rows, maxTables), nil
}

// groupColumns turns (schema, table, column, column_key) rows into
// tables.
func groupColumns(rows [][]value, maxTables int) []table {
	var out []table
	for _, row := range rows {
		if len(row) != 4 || row[0].null || row[1].null || row[2].null {
			continue
		}
		n := len(out)
		if n == 0 || out[n-1].schema != row[0].s || out[n-1].name != row[1].s {
			if n == maxTables {
				break
			}
			out = append(out, table{schema: row[0].s, name: row[1].s, key: -1})
			n++
		}
		tb := &out[n-1]
		if len(tb.cols) == maxColumns {
			continue
		}
		if row[3].s == "PRI" && tb.key < 0 {
			tb.key = len(tb.cols)
		}
		tb.cols = append(tb.cols, row[2].s)
	}
	return out
}

// sampleReader reads a session's packets with the sampling cap on one
// packet instead of the probe's: rows are larger than catalog replies.
type sampleReader struct{ s *session }

func (r sampleReader) read(int) ([]byte, error) { return r.s.read(samplePacket) }

// query runs one statement and reads at most maxRows rows.
func (s *session) query(q string, maxRows int) ([][]value, error) {
	s.seq = 0
	if err := s.write(append([]byte{comQuery}, q...)); err != nil {
		return nil, err
	}
	rows, _, err := readResultSet(sampleReader{s}, s.clientCaps()&clientDeprecateEOF != 0, maxRows)
	return rows, err
}

// selectRows builds SELECT LEFT(`c1`, N), ... FROM `schema`.`table` LIMIT
// k with every identifier quoted, whatever bytes the server named it with.
func selectRows(tb table, k int) string {
	var b strings.Builder
	b.WriteString("SELECT ")
	for i, c := range tb.cols {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "LEFT(%s, %d)", quoteIdent(c), sampleValue)
	}
	fmt.Fprintf(&b, " FROM %s.%s LIMIT %d", quoteIdent(tb.schema), quoteIdent(tb.name), k)
	return b.String()
}

// quoteIdent quotes a MySQL identifier: backticks around, inner backticks
// doubled. NUL cannot appear in an identifier and is dropped.
func quoteIdent(s string) string {
	s = strings.ReplaceAll(s, "\x00", "")
	return "`" + strings.ReplaceAll(s, "`", "``") + "`"
}
