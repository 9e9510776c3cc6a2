// Package mysql checks MySQL and MariaDB servers (port 3306) for logins that
// need no password.
//
// It speaks the client/server protocol
// (https://dev.mysql.com/doc/dev/mysql-server/latest/PAGE_PROTOCOL.html,
// https://mariadb.com/kb/en/clientserver-protocol/) written by hand: no
// well-kept Go library exposes the raw greeting (auth plugin, capability
// flags, an ERR 1130 sent before any greeting) over a connection the caller
// supplies and records; go-sql-driver hides all of them behind database/sql.
//
// The probe reads the greeting, then logs in as "root" and, if refused, as the
// anonymous user "", each with an empty password (never any other). Over a
// login it sends only SELECTs: the inventory, answered from the server's
// statistics for the user schemas (the server's own are listed by name),
//
//	SELECT table_schema, SUM(data_length+index_length), SUM(table_rows)
//	FROM information_schema.tables WHERE table_schema NOT IN (system schemas)
//	GROUP BY table_schema UNION ALL SELECT schema_name, NULL, NULL
//	FROM information_schema.schemata WHERE schema_name IN (system schemas)
//	ORDER BY 1 LIMIT 1001
//
// then the account in use (CURRENT_USER()) with at most 5 base tables it can
// name, those its own SELECT grants cover first (readsQuery), and for each
// in turn, until one is allowed,
//
//	SELECT 1 FROM `schema`.`table` LIMIT 1
//
// then COM_QUIT. A login is not a read: the server is open when one of those
// SELECTs works, restricted when each is refused (an account holding INSERT
// alone) or the account names no table. When the greeting offers TLS, one more connection sends
// SSLRequest and repeats the root login over TLS to record the certificate.
//
// Result.Details: login (who logged in, and as which account when an
// anonymous account answered a login as root), read=select when a SELECT
// read a table. Result.Facts: Admin when root logs in with an empty
// password and CURRENT_USER() is a root account.
package mysql

import (
	"context"
	"errors"
	"fmt"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
)

var _ probe.Prober = (*Prober)(nil)

// Server error codes that decide a verdict.
const (
	erTooManyConnections = 1040
	erAccessDenied       = 1045
	erHostBlocked        = 1129
	erHostNotAllowed     = 1130
	erAccountLockedMySQL = 3118
	erSecureTransport    = 3159
	erAccountLockedMaria = 4151
)

// Prober checks MySQL and MariaDB. The zero value is ready to use.
type Prober struct{}

// New returns a MySQL prober.
func New() *Prober { return &Prober{} }

// kind is MySQL's descriptor. The server greets first, so detection can
// try this prober on an unknown port without sending anything.
var kind = gown.StoreKind{
	Name:        "mysql",
	Ports:       []int{3306},
	Schemes:     []gown.Scheme{{Name: "mysql", Port: 3306}, {Name: "mariadb", Port: 3306}},
	ServerFirst: true,
}

// Kind describes MySQL and MariaDB: port 3306, schemes mysql and mariadb,
// server-first.
func (*Prober) Kind() gown.StoreKind { return kind }

// Probe reads the greeting, tries the empty-password logins and, when one
// works, lists the schemas with their sizes. A peer that answers with
// something other than a greeting gets a not-service result, returned
// together with an error wrapping gown.ErrNotService; a peer that sends
// nothing, or too little to judge, gets no result and the error.
func (p *Prober) Probe(ctx context.Context, t gown.Target, d probe.Dialer) (*gown.Result, error) {
	rn := &run{ctx: ctx, t: t, d: d}
	res := &gown.Result{Target: t, Store: kind.Name}
	a, err := rn.try("root", false, true)
	switch {
	case a == nil && errors.Is(err, gown.ErrNotService):
		res.Status, res.Reason, res.Error = gown.StatusNotService, "answered, but not with a MySQL greeting", err.Error()
		res.Evidence = rn.evidence
		return res, fmt.Errorf("mysql greeting from %s: %w", t, err)
	case a == nil:
		return nil, fmt.Errorf("mysql greeting from %s: %w", t, err)
	case a.refused != nil:
		refusedAtGreeting(res, a.refused)
		res.Evidence = rn.evidence
		return res, nil
	}
	describe(res, a.greet)
	if err != nil {
		err = fmt.Errorf("mysql login on %s: %w", t, err)
	} else {
		err = rn.logins(res, a)
	}
	switch {
	case err == nil:
	case res.Status != "":
		res.Error = err.Error() // the verdict stands; a later step failed
	case errors.Is(err, errMoreThanEmpty):
		res.Status, res.Error = gown.StatusAuthRequired, err.Error()
		res.Reason = "the account's auth plugin asks for more than an empty password"
	default:
		res.Status, res.Reason = probe.Classify(err)
		res.Reason = "MySQL greeting read, login not decided: " + res.Reason
		res.Error = err.Error()
	}
	res.Evidence = rn.evidence
	if rn.kept != nil {
		res.Heard = rn.kept
	}
	return res, nil
}

// describe fills in what the greeting tells.
func describe(res *gown.Result, g *greeting) {
	res.Product, res.Version = g.product(), g.version()
	res.Detail("protocol", fmt.Sprint(g.Protocol))
	res.Detail("capabilities", fmt.Sprintf("0x%08x", g.Caps))
	res.Detail("auth_plugin", g.plugin())
	res.TLS.Mode = gown.TLSNone
	if g.Caps&clientSSL != 0 {
		res.TLS.Mode = gown.TLSOffered
	}
}

// refusedAtGreeting turns an ERR packet sent instead of a greeting into a
// verdict: the server is there but will not talk to this address.
func refusedAtGreeting(res *gown.Result, e *serverError) {
	// The refusal is the verdict, not a failure: keep the server's words
	// as a detail, not as Error.
	res.Detail("server_error", e.Error())
	switch e.Code {
	case erHostNotAllowed:
		res.Status, res.Reason = gown.StatusRestricted, "server refuses this client's host before login (1130)"
	case erHostBlocked:
		res.Status, res.Reason = gown.StatusRestricted, "this client's host is blocked after too many connection errors (1129, max_connect_errors)"
	case erTooManyConnections:
		res.Status, res.Reason = gown.StatusUnknown, "server has too many connections to accept a login (1040)"
	default:
		res.Status, res.Reason = gown.StatusUnknown, fmt.Sprintf("server refused the connection before login (%d)", e.Code)
	}
}

// logins runs the empty-password logins after a greeting and sets the
// verdict. a is the plaintext root attempt already made.
func (rn *run) logins(res *gown.Result, a *attempt) error {
	g, overTLS := a.greet, false
	if a.loginErr != nil && a.loginErr.Code == erSecureTransport && g.Caps&clientSSL != 0 {
		res.TLS.Mode, overTLS = gown.TLSRequired, true
		var err error
		if a, err = rn.try("root", true, true); err != nil {
			return fmt.Errorf("mysql login over TLS on %s: %w", rn.t, err)
		}
		res.TLS = tlsFrom(a.tls, gown.TLSRequired)
	}
	who := "root with empty password"
	if a.loginErr != nil && refusesUser(a.loginErr) {
		anon, err := rn.try("", overTLS, true)
		if err != nil {
			// root refused, anonymous undecided: no verdict yet
			return fmt.Errorf("mysql anonymous login on %s: %w", rn.t, err)
		}
		if anon.loginErr == nil || !refusesUser(anon.loginErr) {
			a, who = anon, "anonymous"
		}
	}
	loginVerdict(res, a, who)
	if overTLS || g.Caps&clientSSL == 0 {
		return nil
	}
	return rn.checkTLS(res)
}

// checkTLS repeats the root login over TLS to record the certificate. An
// account that requires TLS (REQUIRE SSL) refuses the plaintext login with
// 1045, so an open login here is a verdict of its own.
func (rn *run) checkTLS(res *gown.Result) error {
	a, err := rn.try("root", true, res.Status != gown.StatusOpen)
	if err != nil {
		// The greeting offered TLS but the handshake failed: only plaintext works.
		res.TLS.Mode = gown.TLSNone
		return fmt.Errorf("mysql TLS check on %s: %w", rn.t, err)
	}
	res.TLS = tlsFrom(a.tls, gown.TLSOffered)
	if a.loginErr == nil && res.Status != gown.StatusOpen {
		loginVerdict(res, a, "root with empty password over TLS")
	}
	return nil
}

func tlsFrom(t *gown.TLS, mode gown.TLSMode) gown.TLS {
	out := gown.TLS{Mode: mode}
	if t != nil {
		out = *t
		out.Mode = mode
	}
	return out
}

// refusesUser reports errors that mean "not this account with this
// password", after which another account is worth a try.
func refusesUser(e *serverError) bool {
	switch e.Code {
	case erAccessDenied, erAccountLockedMySQL, erAccountLockedMaria:
		return true
	}
	return false
}
