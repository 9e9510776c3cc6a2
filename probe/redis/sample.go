package redis

import (
	"bufio"
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
	"github.com/gownscan/gown/probe/flatten"
)

// Sampling reads, per database the inventory lists, a few keys of each key
// prefix (the part before the first ':', "" for keys without one), with
// read-only commands only:
//
//	SELECT n; SCAN cursor COUNT 100 (never KEYS *)
//	TYPE key, then by type: STRLEN and GET or GETRANGE 0 8191 (string),
//	HLEN and HGETALL or one HSCAN page (hash), LRANGE 0 K-1 (list),
//	one SSCAN page (set), ZRANGE 0 K-1 (sorted set); other types are skipped.
//
// SELECT changes only the connection's current database; when an ACL
// refuses it, db0 (where a connection starts) is read still.
const (
	maxScanRounds = 20   // SCAN calls per database
	maxCommands   = 600  // commands per sampling, all databases together
	maxString     = 8192 // bytes read of one string value
	maxHashGetAll = 64   // fields a hash may have to be read whole
)

var _ probe.Sampler = (*Prober)(nil)

// Sample reads a few keys of each prefix in each keyspace the probe listed.
func (p *Prober) Sample(ctx context.Context, t gown.Target, d probe.Dialer, r *gown.Result, lim probe.SampleLimits, emit func(gown.Sample) error) error {
	if r.Inventory == nil || len(r.Inventory.Databases) == 0 {
		return nil
	}
	conn, err := d.Dial(ctx, t)
	if err != nil {
		return fmt.Errorf("redis sample dial %s: %w", t, err)
	}
	defer conn.Close()
	if r.TLS.Mode == gown.TLSRequired {
		if err := conn.UpgradeTLS(probe.ServerName(t)); err != nil {
			return fmt.Errorf("redis sample TLS on %s: %w", t, err)
		}
	}
	s := &sampler{session: session{conn: conn, br: bufio.NewReader(conn), t: t}, k: lim.PerCollection, emit: emit}
	for _, db := range r.Inventory.Databases {
		n, ok := strings.CutPrefix(db.Name, "db")
		if !ok || db.Items == 0 || !isDBName(db.Name) {
			continue
		}
		if err := s.database(ctx, db.Name, n); err != nil {
			return err // ErrSampleFull included: a cap ended it, SampleStore marks it truncated
		}
	}
	return nil
}

// sampler is one sampling connection with its budgets.
type sampler struct {
	session
	k        int
	commands int
	emit     func(gown.Sample) error
}

// cmd sends one command built from args, within the command budget.
func (s *sampler) cmd(args ...string) (reply, error) {
	if s.commands >= maxCommands {
		return reply{}, probe.ErrSampleFull
	}
	s.commands++
	return s.do(strings.ToLower(args[0]), command(args...))
}

// database walks one keyspace with SCAN until every prefix seen has K keys
// read or the rounds run out.
func (s *sampler) database(ctx context.Context, name, n string) error {
	rep, err := s.cmd("SELECT", n)
	if err != nil {
		return err
	}
	// A connection starts in db0, so an ACL that refuses SELECT (+@read
	// does) still leaves db0 to read.
	if rep.isError() && n != "0" {
		return nil
	}
	perPrefix := map[string]int{}
	cursor := "0"
	for range maxScanRounds {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		rep, err := s.cmd("SCAN", cursor, "COUNT", "100")
		if err != nil {
			return err
		}
		if rep.isError() || len(rep.elems) != 2 {
			return nil // SCAN refused or renamed: nothing to read here
		}
		cursor = rep.elems[0].text
		for _, k := range rep.elems[1].elems {
			key := k.text
			prefix, _, found := strings.Cut(key, ":")
			if !found {
				prefix = ""
			}
			if perPrefix[prefix] >= s.k {
				continue
			}
			fields, err := s.read(key)
			if err != nil {
				return err
			}
			if fields == nil {
				continue
			}
			perPrefix[prefix]++
			if err := s.emit(gown.Sample{Database: name, Collection: prefix, Key: key, Fields: fields}); err != nil {
				return err
			}
		}
		if cursor == "0" || cursor == "" {
			return nil
		}
	}
	return probe.ErrSampleFull // the rounds ran out before the keyspace did
}

// read fetches one key by its type; nil fields means the key was skipped.
func (s *sampler) read(key string) ([]gown.Field, error) {
	typ, err := s.cmd("TYPE", key)
	if err != nil || typ.isError() {
		return nil, err
	}
	switch typ.text {
	case "string":
		return s.readString(key)
	case "hash":
		n, err := s.cmd("HLEN", key)
		if err != nil || n.isError() {
			return nil, err
		}
		var rep reply
		if n.num <= maxHashGetAll {
			rep, err = s.cmd("HGETALL", key)
		} else {
			rep, err = s.cmd("HSCAN", key, "0", "COUNT", "32")
			if err == nil && len(rep.elems) == 2 {
				rep = rep.elems[1]
			}
		}
		if err != nil || rep.isError() {
			return nil, err
		}
		return pairs(rep), nil
	case "list":
		return s.members(key, "LRANGE", key, "0", strconv.Itoa(s.k-1))
	case "zset":
		return s.members(key, "ZRANGE", key, "0", strconv.Itoa(s.k-1))
	case "set":
		rep, err := s.cmd("SSCAN", key, "0", "COUNT", "16")
		if err != nil || rep.isError() || len(rep.elems) != 2 {
			return nil, err
		}
		return indexed(rep.elems[1]), nil
	}
	return nil, nil
}

// readString reads a string value, or its first maxString bytes. A JSON
// value is flattened into its fields; anything else is one field "value".
func (s *sampler) readString(key string) ([]gown.Field, error) {
	size, err := s.cmd("STRLEN", key)
	if err != nil || size.isError() {
		return nil, err
	}
	var rep reply
	if size.num > maxString {
		rep, err = s.cmd("GETRANGE", key, "0", strconv.Itoa(maxString-1))
	} else {
		rep, err = s.cmd("GET", key)
	}
	if err != nil || rep.isError() || rep.null {
		return nil, err
	}
	if v := strings.TrimSpace(rep.text); strings.HasPrefix(v, "{") || strings.HasPrefix(v, "[") {
		if fs, err := flatten.JSON("", []byte(v)); err == nil && len(fs) > 0 {
			return fs, nil
		}
	}
	return []gown.Field{{Path: "value", Value: rep.text}}, nil
}

func (s *sampler) members(key string, args ...string) ([]gown.Field, error) {
	rep, err := s.cmd(args...)
	if err != nil || rep.isError() {
		return nil, err
	}
	return indexed(rep), nil
}

// pairs turns a flat field, value, field, value reply into fields.
func pairs(rep reply) []gown.Field {
	var out []gown.Field
	for i := 0; i+1 < len(rep.elems) && len(out) < flatten.MaxFields; i += 2 {
		out = append(out, gown.Field{Path: rep.elems[i].text, Value: clipValue(rep.elems[i+1].text)})
	}
	return out
}

// indexed names the elements of a list reply by position.
func indexed(rep reply) []gown.Field {
	var out []gown.Field
	for i, e := range rep.elems {
		if i >= flatten.MaxFields {
			break
		}
		out = append(out, gown.Field{Path: strconv.Itoa(i), Value: clipValue(e.text)})
	}
	return out
}

func clipValue(s string) string {
	if len(s) > flatten.MaxValue {
		return s[:flatten.MaxValue]
	}
	return s
}

// command encodes args as a RESP array of bulk strings.
func command(args ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b.String()
}
