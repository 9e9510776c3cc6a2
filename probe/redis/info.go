package redis

import (
	"strconv"
	"strings"

	"github.com/gownscan/gown"
)

// info is what gown keeps from the INFO text.
type info struct {
	fields map[string]string // "field:value" lines, keyspace lines excluded
	dbs    []gown.Database   // keyspace lines, in the order the server lists them
	memory uint64            // used_memory; 0 when absent or unreadable
}

// parseInfo reads the INFO text: "# Section" headers and "field:value" lines,
// CRLF-separated. Keyspace lines ("db0:keys=3,expires=1,avg_ttl=0") become
// databases. Lines that fit neither are skipped: servers add fields with
// every release and Redis-compatible servers add their own.
func parseInfo(text string) info {
	in := info{fields: map[string]string{}}
	for line := range strings.Lines(text) {
		line = strings.TrimRight(line, "\r\n")
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok || k == "" {
			continue
		}
		if db, ok := keyspace(k, v); ok {
			in.dbs = append(in.dbs, db)
			continue
		}
		if _, dup := in.fields[k]; !dup {
			in.fields[k] = v
		}
	}
	// ParseUint, not Atoi into a narrower type: servers with more than 4 GiB
	// in use are exactly the ones worth reporting (zgrab2 truncates them).
	if m, err := strconv.ParseUint(in.fields["used_memory"], 10, 64); err == nil {
		in.memory = m
	}
	return in
}

// keyspace parses one keyspace line; ok is false for any other field.
func keyspace(name, value string) (gown.Database, bool) {
	if !isDBName(name) {
		return gown.Database{}, false
	}
	for part := range strings.SplitSeq(value, ",") {
		k, v, _ := strings.Cut(part, "=")
		if k != "keys" {
			continue
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return gown.Database{}, false
		}
		return gown.Database{Name: name, Items: n}, true
	}
	return gown.Database{}, false
}

// isDBName reports whether s is "db" followed by a decimal index.
func isDBName(s string) bool {
	digits, ok := strings.CutPrefix(s, "db")
	if !ok || digits == "" || len(digits) > 10 {
		return false
	}
	for _, c := range []byte(digits) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// replicaOf is the master a replica's INFO names, or nil when it names
// none. master_link_status is kept: a link that is up means the master's
// data is flowing in now.
func replicaOf(fields map[string]string) *gown.Replica {
	host := fields["master_host"]
	if host == "" {
		return nil
	}
	rep := &gown.Replica{Host: host, Link: fields["master_link_status"]}
	if p, err := strconv.ParseUint(fields["master_port"], 10, 16); err == nil {
		rep.Port = int(p)
	}
	return rep
}
