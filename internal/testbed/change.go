package testbed

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// The changes a running store goes through in the wild, for tests that
// watch a store over time (gown watch): locked by its owners, grown by its
// users, wiped by a ransom bot. The test bed writes through its own admin
// connections; gown never does. Tests that use them change the server:
// they must not share it.

// LockRedis sets a password on an open Redis (CONFIG SET requirepass), as
// an owner who learns it is exposed does: clients then get NOAUTH. The bed
// keeps the password for its own connections.
func (s *Server) LockRedis(ctx context.Context) error {
	if s.Kind != "redis" {
		return fmt.Errorf("testbed: %s is not a Redis", s.Name)
	}
	c, err := s.adminConn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	defer connDeadline(ctx, c.c, 10*time.Second)()
	pw := secret()
	if _, err := c.do("CONFIG", "SET", "requirepass", pw); err != nil {
		return fmt.Errorf("testbed: %s: CONFIG SET requirepass: %w", s.Name, err)
	}
	s.Password = pw
	return nil
}

// GrowMemcached stores n more items in a memcached, as its users do.
func (s *Server) GrowMemcached(ctx context.Context, prefix string, n int) error {
	if s.Kind != "memcached" {
		return fmt.Errorf("testbed: %s is not a memcached", s.Name)
	}
	c, r, done, err := s.mcDial(ctx, false)
	if err != nil {
		return err
	}
	defer done()
	var b strings.Builder
	for i := range n {
		v := fmt.Sprintf(`{"sku":"%s-%d","qty":%d}`, prefix, i, i%17)
		fmt.Fprintf(&b, "set %s:%04d 0 0 %d\r\n%s\r\n", prefix, i, len(v), v)
	}
	if _, err := io.WriteString(c, b.String()); err != nil {
		return fmt.Errorf("testbed: %s: grow: %w", s.Name, err)
	}
	for i := range n {
		line, err := r.ReadString('\n')
		if err != nil || strings.TrimSpace(line) != "STORED" {
			return fmt.Errorf("testbed: %s: grow: set %d answered %q, %v", s.Name, i, line, err)
		}
	}
	return nil
}

// WipeCouchDB does what a ransom bot does to an open CouchDB: it deletes
// every database and leaves one holding a ransom note (RansomMessage).
func (s *Server) WipeCouchDB(ctx context.Context) error {
	if s.Kind != "couchdb" {
		return fmt.Errorf("testbed: %s is not a CouchDB", s.Name)
	}
	c := httpClient(false)
	b, err := s.couchReq("GET", "/_all_dbs", nil).must(ctx, c)
	if err != nil {
		return fmt.Errorf("testbed: %s: %w", s.Name, err)
	}
	var dbs []string
	if err := json.Unmarshal(b, &dbs); err != nil {
		return fmt.Errorf("testbed: %s: _all_dbs: %w", s.Name, err)
	}
	for _, db := range dbs {
		if len(db) > 0 && db[0] == '_' {
			continue // the server's own
		}
		if _, err := s.couchReq("DELETE", "/"+db, nil).must(ctx, c); err != nil {
			return fmt.Errorf("testbed: %s: delete %s: %w", s.Name, db, err)
		}
	}
	if _, err := s.couchReq("PUT", "/"+CouchRansomDB, nil).must(ctx, c); err != nil {
		return fmt.Errorf("testbed: %s: %w", s.Name, err)
	}
	note := map[string]string{"message": RansomMessage}
	if _, err := s.couchReq("PUT", "/"+CouchRansomDB+"/README", note).must(ctx, c); err != nil {
		return fmt.Errorf("testbed: %s: plant the note: %w", s.Name, err)
	}
	return nil
}
