// Package postgres checks whether a PostgreSQL server (port 5432) lets the
// superuser in without a password.
//
// It speaks the frontend/backend protocol version 3
// (https://www.postgresql.org/docs/current/protocol.html) through pgproto3,
// with every message body capped at 64 KiB. On each connection it sends, in
// this order and nothing else:
//
//	SSLRequest      "\x00\x00\x00\x08\x04\xd2\x16\x2f" first on every connection
//	                but one (below); 'S' → TLS handshake, 'N' → plaintext
//	StartupMessage  protocol 3.0, user=postgres database=postgres application_name=gown
//	                (database=template1 when postgres does not exist; database=<each
//	                listed database>, at most 20, to count its rows)
//
// No password is ever sent: an authentication request ends the exchange.
// Once logged in, only these statements run, as simple Query messages,
// the first two reading the catalog and the statistics views:
//
//	SELECT datname, pg_database_size(datname), datistemplate FROM pg_database ORDER BY 1 LIMIT 1000
//	SELECT COALESCE(SUM(n_live_tup),0) FROM pg_stat_user_tables
//
// followed by Terminate. The second counts only the database the session is
// connected to, so it runs once per database, each over its own connection.
// When the session is no superuser's, each of those sessions, until one
// table reads, also names at most 5 user tables (queryTables, those the
// catalog says it may SELECT first) and reads one row of each in turn:
//
//	SELECT 1 FROM "schema"."table" LIMIT 1
//
// Verdicts: AuthenticationOk as a superuser means open (trust); as a role
// that is no superuser, open when one of those SELECTs works, restricted
// when each is refused (42501) or no database holds a table (a login is not
// a read: docs/output.md); a password, MD5 or SASL
// request means auth-required; a FATAL 28000 (pg_hba.conf rejects or has no
// entry for this client) means restricted; anything that does not answer
// SSLRequest with 'S' or 'N' and then speak the protocol is not-service.
// When the server offers TLS, a second connection starts up in plaintext to
// tell "offered" from "required" (hostssl-only pg_hba answers 28000).
//
// Result.Details: read=select when a non-superuser's SELECT read a table.
// Result.Facts: Admin when the session is a superuser's (is_superuser on).
package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
)

var _ probe.Prober = (*Prober)(nil)

// Databases gown logs in to first, and when that one does not exist.
const (
	defaultDB  = "postgres"
	fallbackDB = "template1"
)

// SQLSTATE codes that decide a verdict (Appendix A of the manual).
const (
	codeInvalidAuthorization = "28000" // pg_hba reject / no entry; missing role
	codeInvalidPassword      = "28P01"
	codeUnknownDatabase      = "3D000"
	codeTooManyConnections   = "53300"
	codeCannotConnectNow     = "57P03"
)

// Prober checks PostgreSQL. The zero value is ready to use.
type Prober struct{}

// New returns a PostgreSQL prober.
func New() *Prober { return &Prober{} }

// kind is PostgreSQL's descriptor.
var kind = gown.StoreKind{
	Name:    "postgres",
	Ports:   []int{5432},
	Schemes: []gown.Scheme{{Name: "postgres", Port: 5432}, {Name: "postgresql", Port: 5432}},
}

// Kind describes PostgreSQL: port 5432, schemes postgres and postgresql.
func (*Prober) Kind() gown.StoreKind { return kind }

// Probe negotiates TLS, starts up as postgres without a password and, when
// let in, lists the databases with their sizes and row counts.
func (*Prober) Probe(ctx context.Context, t gown.Target, d probe.Dialer) (*gown.Result, error) {
	r := &run{ctx: ctx, t: t, d: d}
	return r.probe()
}

// run is one Probe call: the connections it made and what they showed.
type run struct {
	ctx      context.Context
	t        gown.Target
	d        probe.Dialer
	res      *gown.Result
	evidence []gown.Evidence
	// counted holds the evidence of the per-database counting sessions,
	// which end while the main session is still open; it goes after the
	// main session's so that the record reads in order.
	counted []gown.Evidence
	reads   reads // the reads that decide a session that is no superuser's
}

// login opens a session (with SSLRequest when ssl is set) and starts up on db.
func (r *run) login(ssl bool, db string) (*session, startupReply, error) {
	s, err := open(r.ctx, r.t, r.d, ssl)
	if err != nil || s.serverErr != nil {
		return s, startupReply{}, err
	}
	rep, err := s.startup(db)
	return s, rep, err
}

// done closes a session and keeps its evidence.
func (r *run) done(s *session, ready bool) {
	r.evidence = append(r.evidence, s.close(ready)...)
}

// probe runs the connections in order: the verdict's, a fallback database's
// when postgres is missing, the counting ones, then the plaintext check.
// Only one is open at a time.
func (r *run) probe() (*gown.Result, error) {
	s, rep, err := r.login(true, defaultDB)
	var tlsErr error
	if s != nil && (s.serverErr != nil || errors.Is(err, errHandshake)) {
		// Either a server too old for SSLRequest or a failed handshake:
		// plaintext on a fresh connection may still tell.
		r.done(s, false)
		tlsErr = err
		if s.serverErr != nil {
			tlsErr = fmt.Errorf("postgres SSLRequest on %s: %w", r.t, s.serverErr)
		}
		s, rep, err = r.login(false, defaultDB)
	}
	if err != nil {
		if s != nil {
			r.done(s, false)
		}
		return r.fail(s, err)
	}
	r.res = &gown.Result{Target: r.t, Store: "postgres", Product: "PostgreSQL"}
	useTLS := s.ssl == 'S'
	if useTLS {
		r.res.TLS = *s.tls
	}
	db := defaultDB
	if rep.AuthOK && rep.Err != nil && rep.Err.Code == codeUnknownDatabase {
		r.done(s, false)
		db = fallbackDB
		if s, rep, err = r.login(useTLS, db); err != nil {
			if s != nil {
				r.done(s, false)
			}
			return r.fail(s, err)
		}
	}
	r.verdict(rep, db)
	r.reads.on = rep.Ready && rep.Params["is_superuser"] != "on"
	if rep.Ready {
		r.inventory(s, db, useTLS) // closes s
	} else {
		r.done(s, false)
	}
	r.readsVerdict()
	r.evidence = append(r.evidence, r.counted...)
	r.tlsMode(s, rep, db, tlsErr)
	r.res.Evidence = r.evidence
	return r.res, nil
}

// fail turns an error before any verdict into a result carrying the
// evidence, or into (nil, err) when nothing answered or the scan ended.
func (r *run) fail(s *session, err error) (*gown.Result, error) {
	if s == nil || r.ctx.Err() != nil {
		return nil, err
	}
	st, reason := probe.Classify(err)
	res := &gown.Result{Target: r.t, Status: st, Reason: reason, Error: err.Error(), Evidence: r.evidence}
	switch {
	case errors.Is(err, errNotPG) && s.ssl != 'S' && s.ssl != 'N' && s.ssl != 0:
		res.Reason = fmt.Sprintf("answered SSLRequest with %q, not 'S' or 'N'", s.ssl)
	case errors.Is(err, errNotPG):
		res.Reason = "answered, but not in the PostgreSQL protocol"
	case s.ssl == 'S' || s.ssl == 'N':
		// It answered SSLRequest as PostgreSQL does, so name it even though
		// the startup went wrong.
		res.Store, res.Product = "postgres", "PostgreSQL"
	}
	return res, nil
}

// tlsMode records how TLS is used. When the server offered TLS, one
// plaintext startup tells whether plaintext is refused (hostssl-only
// pg_hba.conf answers 28000 to it) or also works.
func (r *run) tlsMode(s *session, rep startupReply, db string, tlsErr error) {
	switch {
	case tlsErr != nil:
		r.addError(tlsErr)
		if errors.As(tlsErr, new(*serverError)) {
			r.res.TLS.Mode = gown.TLSNone
			r.res.Detail("ssl", "unsupported")
		} else {
			// It said 'S' but the handshake failed: TLS is not usable, and
			// whether plaintext is the only way cannot be told.
			r.res.Detail("ssl", "S, handshake failed")
		}
		return
	case s.ssl != 'S':
		r.res.TLS.Mode = gown.TLSNone
		return
	}
	r.res.Detail("ssl", "S")
	if r.ctx.Err() != nil {
		r.res.TLS.Mode = gown.TLSOffered // asked for, not yet known to be required
		return
	}
	ps, prep, err := r.login(false, db)
	if ps != nil {
		r.done(ps, prep.Ready)
	}
	tlsRefused := rep.Err != nil && rep.Err.Code == codeInvalidAuthorization && !rep.AuthOK
	switch {
	case err != nil:
		r.res.TLS.Mode = gown.TLSRequired
		r.res.Detail("plaintext", "failed: "+err.Error())
	case prep.Err != nil && prep.Err.Code == codeInvalidAuthorization && !prep.AuthOK && !tlsRefused:
		r.res.TLS.Mode = gown.TLSRequired
		r.res.Detail("plaintext", "refused by pg_hba.conf")
	default:
		r.res.TLS.Mode = gown.TLSOffered
	}
}

// addError records a failed later step; the verdict stands.
func (r *run) addError(err error) {
	if r.res.Error != "" {
		r.res.Error += "; "
	}
	r.res.Error += err.Error()
}

// productOf names forks that speak the protocol and say who they are in
// their startup parameters.
func productOf(params map[string]string) string {
	v := params["server_version"]
	switch {
	case params["crdb_version"] != "" || strings.Contains(v, "CockroachDB"):
		return "CockroachDB"
	case strings.Contains(v, "-YB-"):
		return "YugabyteDB"
	}
	return "PostgreSQL"
}
