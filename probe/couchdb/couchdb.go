// Package couchdb checks whether a CouchDB server (port 5984; TLS on 6984),
// or a server speaking its API such as PouchDB Server, lets anyone read its
// databases or administer it without credentials.
//
// It follows the CouchDB HTTP API (https://docs.couchdb.org/en/stable/api/)
// and sends only GET requests, each on its own connection through
// probe/httpget (HTTP/1.1 with Connection: close, Accept: application/json,
// User-Agent: gown), with every body capped at httpget.MaxBody (768 KiB); a
// longer body fails its step. In this order, and nothing else:
//
//	GET /                          the welcome: {"couchdb":"Welcome","version":...};
//	                               PouchDB Server says {"express-pouchdb":"Welcome!"}.
//	                               401 here (require_valid_user) ends the probe.
//	GET /_session                  userCtx: name null with role _admin is an admin party
//	GET /_node/_local/_config      2.x/3.x configuration: 200 only for an admin
//	GET /_config                   1.x configuration, only when the one above is 404/400
//	GET /_all_dbs                  the database names (admin-only by default in 3.x)
//	GET /{db}                      per database, at most 50: doc_count, sizes
//	GET /{db}/_all_docs?limit=1    per database whose GET /{db} answered: readable?
//
// Database names are escaped as one path segment (a "/" in a name goes as
// %2F, a "+" as %2B), so a hostile listing cannot make gown request any path
// outside /{db} and /{db}/_all_docs.
//
// Verdicts: an admin party (anonymous requests are server admins) is open,
// and is full control. Otherwise a database listing that answers 200 is open
// when at least one database's _all_docs is readable, restricted when every
// database refuses (401/403: _security members), and open when the server
// holds no database at all. A 401/403 listing is auth-required; CouchDB 3
// lists databases only to admins by default, so the Reason says single
// databases may still be public. A 401 on / is auth-required. A reply that is
// not CouchDB's welcome is not-service.
//
// TLS: on 6984, or for a target from an https:// URL, TLS is tried first (and
// plaintext if the handshake fails); elsewhere plaintext is, and TLS when the
// plaintext request is answered with a TLS record or with the 400 page a TLS
// listener gives plaintext (Go's "HTTP request to an HTTPS server", nginx's
// "plain HTTP request was sent to HTTPS port").
//
// Result.Details keys: vendor; admin_party (true/false); session_roles;
// node_config and config (the HTTP status of each configuration request);
// all_dbs (its status); databases (how many are listed); unreadable_dbs
// (names that refused, comma-separated); unclear_dbs (names whose
// readability could not be told, with the status); evidence (set when the
// record was cut to its first exchanges). Result.Facts: Admin on an admin
// party.
package couchdb

import (
	"context"
	"errors"
	"fmt"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
	"github.com/gownscan/gown/probe/httpget"
)

var _ probe.Prober = (*Prober)(nil)

const (
	plainPort = 5984
	tlsPort   = 6984
)

// Prober checks CouchDB. The zero value is ready to use.
type Prober struct{}

// New returns a CouchDB prober.
func New() *Prober { return &Prober{} }

// kind is CouchDB's descriptor: 6984 is the customary TLS port.
var kind = gown.StoreKind{
	Name:    "couchdb",
	Ports:   []int{plainPort, tlsPort},
	Schemes: []gown.Scheme{{Name: "couchdb", Port: plainPort}},
}

// Kind describes CouchDB: ports 5984 and 6984 (TLS), scheme couchdb.
func (*Prober) Kind() gown.StoreKind { return kind }

// Probe reads the welcome, the session, the configuration and the database
// listing, and says who can read what without credentials.
func (*Prober) Probe(ctx context.Context, t gown.Target, d probe.Dialer) (*gown.Result, error) {
	tlsFirst := t.TLS || t.Port == tlsPort
	r := &run{ctx: ctx, t: t, d: d, useTLS: tlsFirst}
	rep, err := r.get("/", false)
	mode := gown.TLSNone
	switch {
	case tlsFirst && errors.Is(err, httpget.ErrHandshake) && ctx.Err() == nil:
		// Plaintext CouchDB on 6984 happens; and a target's https:// hint
		// may be wrong.
		r.useTLS = false
		rep, err = r.get("/", false)
	case tlsFirst:
		// CouchDB serves TLS and plaintext on separate ports, so a port
		// where TLS works is a TLS-only port.
		mode = gown.TLSRequired
	case errors.Is(err, httpget.ErrTLSAnswer) && ctx.Err() == nil:
		// A TLS record, or the 400 page a TLS listener gives plaintext.
		r.useTLS = true
		if trep, terr := r.get("/", false); terr == nil {
			rep, err, mode = trep, nil, gown.TLSRequired
		} else {
			r.useTLS = false
			if err == nil {
				err = terr
			}
		}
	}
	if err != nil {
		return r.fail(err)
	}
	r.res = &gown.Result{Target: t, Store: "couchdb", TLS: gown.TLS{Mode: mode}}
	if r.tls != nil {
		r.res.TLS = *r.tls
		r.res.TLS.Mode = mode
	}
	r.examine(rep)
	r.finish()
	return r.res, nil
}

// fail turns an error before any reply gown could place into (nil, err)
// when nothing answered or the scan ended, and into a result with the
// evidence otherwise.
func (r *run) fail(err error) (*gown.Result, error) {
	var de *probe.DialError
	if errors.As(err, &de) || r.ctx.Err() != nil || len(r.evidence) == 0 {
		return nil, err
	}
	st, reason := probe.Classify(err)
	switch {
	case errors.Is(err, httpget.ErrNotHTTP):
		st, reason = gown.StatusNotService, "answered, but not in HTTP"
	case errors.Is(err, httpget.ErrTLSAnswer):
		st, reason = gown.StatusUnknown, "answers plaintext with TLS, and the TLS handshake failed"
	}
	return &gown.Result{Target: r.t, Status: st, Reason: reason, Error: err.Error(), Evidence: r.evidence}, nil
}

// finish attaches the evidence and notes a cut record.
func (r *run) finish() {
	r.res.Evidence = r.evidence
	if r.dropped > 0 {
		r.res.Detail("evidence", fmt.Sprintf("first %d exchanges of %d", len(r.evidence), len(r.evidence)+r.dropped))
	}
}

// addError records a failed later step; the verdict stands.
func (r *run) addError(err error) {
	if r.res.Error != "" {
		r.res.Error += "; "
	}
	r.res.Error += err.Error()
}
