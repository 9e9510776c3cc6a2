package couchdb

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gownscan/gown"
)

const (
	// maxDatabases caps the databases examined (two requests each).
	maxDatabases = 50
	// maxName is longer than any name CouchDB accepts (238 characters); a
	// longer one is a hostile listing's, and is not requested.
	maxName = 256
	// maxNamesShown caps the names listed in one Details value.
	maxNamesShown = 20
)

// survey is what the listing and the per-database requests showed.
type survey struct {
	code      int   // /_all_dbs status; 0 when the request failed
	err       error // the request or its decoding failed
	total     int   // names listed
	checked   int   // databases examined
	readable  int   // _all_docs answered 200
	refused   []string
	unclear   []string // "name (HTTP 400)"
	truncated bool
}

// listing asks for the database names and examines each, up to
// maxDatabases, filling the inventory with what the server reports.
func (r *run) listing() *survey {
	s := &survey{}
	rep, err := r.get("/_all_dbs", false)
	if err != nil {
		s.err = err
		r.addError(err)
		return s
	}
	s.code = rep.Status
	r.res.Detail("all_dbs", strconv.Itoa(rep.Status))
	if rep.Status != http.StatusOK {
		return s
	}
	var names []string
	if err := decode(rep.Body, &names, "couchdb /_all_dbs on "+r.t.String()); err != nil {
		s.err = err
		r.addError(err)
		return s
	}
	s.total = len(names)
	r.res.Detail("databases", strconv.Itoa(len(names)))
	inv := &gown.Inventory{}
	r.res.Inventory = inv
	for i, name := range names {
		if i >= maxDatabases {
			s.truncated = true
			break
		}
		if err := r.ctx.Err(); err != nil {
			s.truncated = true
			r.addError(fmt.Errorf("couchdb inventory on %s cut short after %d databases: %w", r.t, i, err))
			break
		}
		r.database(name, s, inv)
	}
	inv.Truncated = s.truncated
	r.namesDetail("unreadable_dbs", s.refused)
	r.namesDetail("unclear_dbs", s.unclear)
	return s
}

// database examines one database: its info for the inventory, then one
// row of _all_docs to tell whether documents are readable.
func (r *run) database(name string, s *survey, inv *gown.Inventory) {
	if name == "" || len(name) > maxName {
		// A name past any CouchDB's limit is a hostile listing's: keep
		// what a detail can show, not the megabyte it may be.
		s.unclear = append(s.unclear, name[:min(len(name), maxName)]+" (bad name)")
		return
	}
	s.checked++
	path := "/" + escapeName(name)
	rep, err := r.get(path, false)
	if err != nil {
		r.addError(err)
		s.unclear = append(s.unclear, name+" (no reply)")
		return
	}
	switch rep.Status {
	case http.StatusOK:
	case http.StatusUnauthorized, http.StatusForbidden:
		s.refused = append(s.refused, name)
		return
	case http.StatusNotFound:
		return // deleted since the listing
	default:
		s.unclear = append(s.unclear, name+" ("+statusText(rep)+")")
		return
	}
	var info dbInfo
	if err := decode(rep.Body, &info, "couchdb GET /{db} on "+r.t.String()); err != nil || info.DocCount == nil {
		s.unclear = append(s.unclear, name+" (no doc_count)")
		return
	}
	inv.Add(gown.Database{Name: name, Items: uint64(*info.DocCount), Bytes: info.bytesOnDisk(),
		System: strings.HasPrefix(name, "_")})

	rep, err = r.get(path+"/_all_docs?limit=1", true)
	switch {
	case err != nil:
		r.addError(err)
		s.unclear = append(s.unclear, name+" (no reply)")
	case rep.Status == http.StatusOK && isObject(rep.Body):
		s.readable++
	case rep.Status == http.StatusUnauthorized || rep.Status == http.StatusForbidden:
		s.refused = append(s.refused, name)
	default:
		s.unclear = append(s.unclear, name+" ("+statusText(rep)+")")
	}
}

// escapeName makes a database name one path segment. url.PathEscape leaves
// "+" alone, but CouchDB reads a "+" in a path as a space in some versions,
// so it goes as %2B, as the CouchDB docs ask.
func escapeName(name string) string {
	return strings.ReplaceAll(url.PathEscape(name), "+", "%2B")
}

// namesDetail sets a Details key to a capped, comma-separated name list.
func (r *run) namesDetail(key string, names []string) {
	if len(names) == 0 {
		return
	}
	v := strings.Join(names[:min(len(names), maxNamesShown)], ",")
	if len(names) > maxNamesShown {
		v += fmt.Sprintf(" (+%d more)", len(names)-maxNamesShown)
	}
	r.res.Detail(key, v)
}

// verdict sets the status and reason from the admin check and the survey.
func (r *run) verdict(admin bool, s *survey) {
	r.res.Status, r.res.Reason = judge(admin, s)
}

// judge maps what was seen to a verdict and its reason.
func judge(admin bool, s *survey) (gown.Status, string) {
	first := ""
	if s.truncated {
		first = fmt.Sprintf(" (first %d of %d examined)", s.checked, s.total)
	}
	switch {
	case admin:
		return gown.StatusOpen, "admin party: anonymous requests are server admins (full control: read, write, reconfigure)"
	case s.code == http.StatusUnauthorized || s.code == http.StatusForbidden:
		return gown.StatusAuthRequired, fmt.Sprintf("database listing needs credentials (GET /_all_dbs: HTTP %d); "+
			"CouchDB 3 lists databases only to admins by default, so single databases may still be public", s.code)
	case s.code == 0:
		return gown.StatusUnknown, "CouchDB answered /, but the database listing request failed"
	case s.code != http.StatusOK:
		return gown.StatusUnknown, fmt.Sprintf("GET /_all_dbs answered HTTP %d", s.code)
	case s.err != nil:
		return gown.StatusUnknown, "the database listing is not a JSON array of names"
	case s.readable > 0:
		return gown.StatusOpen, fmt.Sprintf("database listing open; %d of %d databases readable without credentials%s",
			s.readable, s.checked, first)
	case s.total == 0:
		return gown.StatusOpen, "database listing open; the server holds no databases yet"
	case len(s.refused) > 0 && len(s.unclear) == 0:
		return gown.StatusRestricted, "listing open, every database refuses (401/403: _security members)" + first
	case len(s.refused) > 0:
		return gown.StatusRestricted, fmt.Sprintf("listing open, no database readable: %d refuse, %d could not be told%s",
			len(s.refused), len(s.unclear), first)
	}
	return gown.StatusUnknown, "database listing open, but no database's readability could be told" + first
}
