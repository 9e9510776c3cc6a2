package mysql

import (
	"errors"
	"fmt"
	"strings"
)

// readsQuery names the account the server logged gown in as (an anonymous
// account answers a login as root too, and is no root) and at most
// maxReadTables base tables the account can name: information_schema lists
// every table the account holds any privilege on, INSERT alone included, so
// naming a table proves nothing and the SELECT that follows decides. Tables
// the account's own SELECT grants cover (on the table, a column of it, or
// its schema: the privilege views show an account without global privileges
// only its own grants; a schema grant may hold wildcards, hence LIKE) come
// first, so that the bound seldom hides the one readable table; then user
// schemas before the server's own. The derived table keeps one row when no
// table is named.
const readsQuery = "SELECT CURRENT_USER(), t.table_schema, t.table_name FROM (SELECT 1) AS one LEFT JOIN " +
	"(SELECT table_schema, table_name FROM information_schema.tables AS it WHERE table_type = 'BASE TABLE' " +
	"AND table_schema NOT IN ('information_schema', 'performance_schema') " +
	"ORDER BY (EXISTS (SELECT 1 FROM information_schema.table_privileges AS p WHERE p.privilege_type = 'SELECT' " +
	"AND p.table_schema = it.table_schema AND p.table_name = it.table_name) " +
	"OR EXISTS (SELECT 1 FROM information_schema.column_privileges AS p WHERE p.privilege_type = 'SELECT' " +
	"AND p.table_schema = it.table_schema AND p.table_name = it.table_name) " +
	"OR EXISTS (SELECT 1 FROM information_schema.schema_privileges AS p WHERE p.privilege_type = 'SELECT' " +
	"AND it.table_schema LIKE p.table_schema)) DESC, " +
	"table_schema IN ('mysql', 'sys'), table_schema, table_name LIMIT 5) AS t ON TRUE"

// maxReadTables bounds the tables a login tries to read (readsQuery's LIMIT).
const maxReadTables = 5

// reads is what the reads after a login found.
type reads struct {
	account  string // CURRENT_USER(): user@host of the account in use
	tables   int    // tables named and tried
	readable string // schema.table a SELECT read, "" when none
	refused  *serverError
}

// tryReads names the account and up to maxReadTables tables, and reads one
// row of each in turn with SELECT 1 FROM `schema`.`table` LIMIT 1 until one
// is allowed. An ERR answering a SELECT is a refusal (1142 SELECT command
// denied); any other failure ends the reads with an error.
func (s *session) tryReads(step func(string)) (*reads, error) {
	rows, err := s.query(readsQuery, maxReadTables+1)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 || len(rows[0]) != 3 {
		return nil, fmt.Errorf("account and tables query: %d rows", len(rows))
	}
	rd := &reads{account: rows[0][0].s}
	for _, row := range rows {
		if rd.tables == maxReadTables {
			break
		}
		if row[1].null || row[2].null {
			continue
		}
		rd.tables++
		step("select " + row[1].s + "." + row[2].s)
		_, err := s.query("SELECT 1 FROM "+quoteIdent(row[1].s)+"."+quoteIdent(row[2].s)+" LIMIT 1", 1)
		var se *serverError
		switch {
		case err == nil:
			rd.readable = row[1].s + "." + row[2].s
			return rd, nil
		case errors.As(err, &se):
			rd.refused = se
		default:
			return rd, err
		}
	}
	return rd, nil
}

// isRoot reports whether CURRENT_USER() names a root account.
func (rd *reads) isRoot() bool { return strings.HasPrefix(rd.account, "root@") }
