package couchdb

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe/httpget"
)

// identity is what GET / showed about the server.
type identity struct {
	couch   bool   // the reply is CouchDB's (or a clone's)
	product string // "CouchDB", "PouchDB Server", ...
	version string
	vendor  string
}

// identify reads the reply to GET /. CouchDB is known by its welcome
// object or, on an error status, by its Server header or error body.
func identify(rep *httpget.Reply) identity {
	var w welcome
	if rep.Status == http.StatusOK && json.Unmarshal(rep.Body, &w) == nil {
		id := identity{version: string(w.Version), vendor: string(w.Vendor.Name)}
		switch {
		case w.Express != "" || strings.Contains(strings.ToLower(id.vendor), "pouchdb"):
			id.couch, id.product = true, "PouchDB Server"
		case w.CouchDB != "":
			id.couch, id.product = true, productOf(id.vendor)
		}
		return id
	}
	if server := rep.Header.Get("Server"); strings.HasPrefix(server, "CouchDB/") {
		v, _, _ := strings.Cut(strings.TrimPrefix(server, "CouchDB/"), " ")
		return identity{couch: true, product: "CouchDB", version: v}
	}
	if rep.Status == http.StatusUnauthorized && reasonOf(rep.Body) != "" {
		// CouchDB's {"error":"unauthorized",...}; the Server header may be
		// hidden by a proxy.
		return identity{couch: true, product: "CouchDB"}
	}
	return identity{}
}

// productOf names servers that answer with CouchDB's welcome but say in
// their vendor who they are.
func productOf(vendor string) string {
	v := strings.ToLower(vendor)
	switch {
	case strings.Contains(v, "cloudant"):
		return "IBM Cloudant"
	case strings.Contains(v, "sync gateway"):
		return "Couchbase Sync Gateway"
	}
	return "CouchDB"
}

// examine places the welcome and, for CouchDB, runs the remaining steps and
// sets the verdict.
func (r *run) examine(root *httpget.Reply) {
	res := r.res
	id := identify(root)
	res.Product, res.Version = id.product, id.version
	if id.vendor != "" {
		res.Detail("vendor", id.vendor)
	}
	switch {
	case root.Status == http.StatusUnauthorized:
		// require_valid_user, or a proxy asking for credentials in front.
		res.Status = gown.StatusAuthRequired
		res.Reason = "asks for credentials on / (HTTP 401): require_valid_user or an authenticating proxy"
		if auth := root.Header.Get("WWW-Authenticate"); auth != "" {
			res.Detail("www_authenticate", auth)
		}
		if !id.couch {
			res.Store = "" // something asks for a password; not known to be CouchDB
		}
		return
	case !id.couch:
		res.Store, res.Status = "", gown.StatusNotService
		res.Reason = "answered GET / with " + statusText(root) + ", not CouchDB's welcome"
		if server := root.Header.Get("Server"); server != "" {
			res.Detail("server", server)
		}
		return
	case root.Status != http.StatusOK:
		res.Status = gown.StatusUnknown
		res.Reason = "CouchDB answered GET / with " + statusText(root)
		return
	}
	admin := r.adminParty()
	listing := r.listing()
	r.verdict(admin, listing)
}

// adminParty asks /_session and the configuration whether anonymous
// requests are server admins.
func (r *run) adminParty() bool {
	admin := false
	if rep, err := r.get("/_session", false); err != nil {
		r.addError(err)
	} else if rep.Status == http.StatusOK {
		var s session
		if decode(rep.Body, &s, "couchdb /_session") == nil {
			roles := make([]string, 0, len(s.UserCtx.Roles))
			for _, role := range s.UserCtx.Roles {
				roles = append(roles, string(role))
				admin = admin || (role == "_admin" && s.UserCtx.Name == nil)
			}
			r.res.Detail("session_roles", strings.Join(roles, ","))
		}
	}
	if r.config() {
		admin = true
	}
	r.res.Detail("admin_party", strconv.FormatBool(admin))
	if admin {
		r.res.Facts.Admin = "anyone is server admin (admin party)"
	}
	return admin
}

// config asks for the configuration, the 2.x/3.x path first. It reports
// whether it was readable; the body is never kept (it holds secrets).
func (r *run) config() bool {
	rep, err := r.get("/_node/_local/_config", true)
	if err != nil {
		r.addError(err)
		return false
	}
	r.res.Detail("node_config", strconv.Itoa(rep.Status))
	if rep.Status == http.StatusOK {
		return isObject(rep.Body)
	}
	if rep.Status != http.StatusNotFound && rep.Status != http.StatusBadRequest {
		// 401/403: the path exists, so this is 2.x/3.x and /_config is not
		// worth a request.
		return false
	}
	rep, err = r.get("/_config", true)
	if err != nil {
		r.addError(err)
		return false
	}
	r.res.Detail("config", strconv.Itoa(rep.Status))
	return rep.Status == http.StatusOK && isObject(rep.Body)
}
