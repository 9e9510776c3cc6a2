package couchdb

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/gownscan/gown"
)

// welcome is the body of GET /. CouchDB sends {"couchdb":"Welcome",
// "version":"3.3.3","vendor":{"name":"The Apache Software Foundation"}};
// PouchDB Server (express-pouchdb) sends {"express-pouchdb":"Welcome!",
// "version":"4.2.0","vendor":{"name":"PouchDB authors"}} and no "couchdb".
type welcome struct {
	CouchDB text   `json:"couchdb"`
	Express text   `json:"express-pouchdb"`
	Version text   `json:"version"`
	Vendor  vendor `json:"vendor"`
}

type vendor struct {
	Name text `json:"name"`
}

// session is the body of GET /_session.
type session struct {
	UserCtx struct {
		Name  *text  `json:"name"` // null when anonymous
		Roles []text `json:"roles"`
	} `json:"userCtx"`
}

// dbInfo is the body of GET /{db}. CouchDB 2.x/3.x report sizes.file
// (bytes on disk), sizes.active and sizes.external; 1.x and PouchDB Server
// report disk_size and data_size instead (2.x sends both).
type dbInfo struct {
	DocCount *count `json:"doc_count"`
	Sizes    struct {
		File     count `json:"file"`
		Active   count `json:"active"`
		External count `json:"external"`
	} `json:"sizes"`
	DiskSize count `json:"disk_size"`
	DataSize count `json:"data_size"`
}

// bytesOnDisk is the database's size on disk, from whichever field the
// server version has.
func (d *dbInfo) bytesOnDisk() uint64 {
	if d.Sizes.File > 0 {
		return uint64(d.Sizes.File)
	}
	return uint64(d.DiskSize)
}

// errorBody is CouchDB's error reply: {"error":"unauthorized","reason":"..."}.
type errorBody struct {
	Error  text `json:"error"`
	Reason text `json:"reason"`
}

// text is a JSON string that also accepts a number, a boolean or null, so
// that one oddly typed field (Cloudant's numeric vendor version) does not
// make a whole reply unreadable.
type text string

// UnmarshalJSON takes a string as is and a scalar as its JSON text.
func (s *text) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = text(v)
		return nil
	}
	if len(b) > 0 && (b[0] == '{' || b[0] == '[') {
		return fmt.Errorf("want a string, got %.20s", b)
	}
	if string(b) == "null" {
		*s = ""
		return nil
	}
	*s = text(b)
	return nil
}

// count is a non-negative JSON integer; null reads as 0 (CouchDB 2.0 sends
// "active": null before compaction). Anything else is an error: a negative or
// fractional size is not a size.
type count uint64

// UnmarshalJSON parses a JSON number into a count.
func (c *count) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*c = 0
		return nil
	}
	v, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		return fmt.Errorf("not a count: %.30s", b)
	}
	*c = count(v)
	return nil
}

// decode reads a JSON body into v, naming the request on failure.
func decode(body []byte, v any, what string) error {
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%s: %w: %w", what, gown.ErrProtocol, err)
	}
	return nil
}

// isObject reports whether body is one valid JSON object: what a readable
// configuration looks like, without decoding the secrets it holds.
func isObject(body []byte) bool {
	b := bytes.TrimSpace(body)
	return len(b) > 0 && b[0] == '{' && json.Valid(b)
}

// reasonOf is a CouchDB error reply's "error: reason", or "" if the body
// is not one.
func reasonOf(body []byte) string {
	var e errorBody
	if json.Unmarshal(body, &e) != nil || e.Error == "" {
		return ""
	}
	s := string(e.Error)
	if e.Reason != "" {
		s += ": " + string(e.Reason)
	}
	return s
}
