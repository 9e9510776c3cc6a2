package testbed

import (
	"fmt"
	"os"
	"strings"

	"github.com/gownscan/gown/internal/lazyre"
)

// pgLogPrefix is log_line_prefix: each line names its session (%c), client
// host ("[local]" for the socket), database and application, so a line can
// be tied to the session that caused it. The application comes last because
// it is the one field a client chooses freely.
const pgLogPrefix = "%m [%p] c=%c h=%h d=%d a=%a: "

// pgLine matches a prefixed line; lines of a multi-line statement that
// follow it start with a tab instead.
var pgLine = lazyre.New(`^\S+ \S+ \S+ \[\d+\] c=(\S*) h=(\S*) d=(\S*) a=(.*?): ` +
	`(LOG|ERROR|FATAL|PANIC|WARNING|NOTICE|INFO|DEBUG[1-5]?|DETAIL|HINT|STATEMENT|CONTEXT|LOCATION|QUERY):  (.*)$`)

// pgStatement matches what log_statement=all logs: a simple query, or a
// prepared one as it executes.
var pgStatement = lazyre.New(`(?s)^(?:statement|execute [^:]*): (.*)$`)

// PGLogEntry is one message of a PostgreSQL server's log.
type PGLogEntry struct {
	Session  string // the session id (%c), shared by every line of one backend
	Host     string // the client's address, "[local]" for the unix socket, "" for the server's own lines
	DB       string
	App      string // application_name; gown says "gown"
	Severity string // LOG, ERROR, FATAL, DETAIL, STATEMENT, ...
	Message  string // e.g. "statement: SELECT 1", "connection received: host=127.0.0.2 port=5000"
	// Setup marks lines of the test bed's own sessions (planting over the
	// socket, the startup check with application_name gown-testbed).
	Setup bool
}

// PGStatement is one statement a client sent, from the log.
type PGStatement struct {
	Session, Host, DB, App string
	SQL                    string
}

// PostgresLog returns every message the server logged since it started,
// including the test bed's own sessions (marked Setup). A session refused
// before startup completes (pg_hba reject) names no application and so is
// never marked.
func (s *Server) PostgresLog() ([]PGLogEntry, error) {
	if s.Kind != "postgres" || s.LogPath == "" {
		return nil, fmt.Errorf("testbed: %s keeps no PostgreSQL log", s.Name)
	}
	b, err := os.ReadFile(s.LogPath)
	if err != nil {
		return nil, fmt.Errorf("testbed: log of %s: %w", s.Name, err)
	}
	entries := parsePGLog(string(b))
	setup := map[string]bool{}
	for _, e := range entries {
		if e.Host == "[local]" || e.App == pgSetupApp {
			setup[e.Session] = true
		}
	}
	for i, e := range entries {
		entries[i].Setup = setup[e.Session]
	}
	return entries, nil
}

// PostgresStatements returns the statements of sessions the test bed did
// not open: what scans sent. log_statement logs a statement before it runs,
// so a statement the server refused is listed too.
func (s *Server) PostgresStatements() ([]PGStatement, error) {
	all, err := s.PostgresLog()
	if err != nil {
		return nil, err
	}
	var out []PGStatement
	for _, e := range all {
		if e.Setup || e.Severity != "LOG" {
			continue
		}
		if m := pgStatement.FindStringSubmatch(e.Message); m != nil {
			out = append(out, PGStatement{Session: e.Session, Host: e.Host, DB: e.DB, App: e.App, SQL: m[1]})
		}
	}
	return out, nil
}

// parsePGLog splits the log into messages. Lines without the prefix are
// continuations (a tab, then a line of a multi-line statement) or the
// server's own output before logging starts, which is dropped.
func parsePGLog(text string) []PGLogEntry {
	var out []PGLogEntry
	for line := range strings.Lines(text) {
		line = strings.TrimRight(line, "\r\n")
		if m := pgLine.FindStringSubmatch(line); m != nil {
			out = append(out, PGLogEntry{Session: m[1], Host: m[2], DB: m[3], App: m[4], Severity: m[5], Message: m[6]})
			continue
		}
		if rest, ok := strings.CutPrefix(line, "\t"); ok && len(out) > 0 {
			out[len(out)-1].Message += "\n" + rest
		}
	}
	return out
}
