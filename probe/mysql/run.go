package mysql

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
)

// errTooOld means the server predates protocol 4.1, whose login gown speaks.
var errTooOld = errors.New("server lacks CLIENT_PROTOCOL_41 or CLIENT_SECURE_CONNECTION")

// run is one Probe call: its target and dialer, and the evidence of every
// connection it opened.
type run struct {
	ctx      context.Context
	t        gown.Target
	d        probe.Dialer
	evidence []gown.Evidence
	kept     *kept // the logged-in session left open for the sampler, if any
}

// kept is a logged-in session the probe left open for its sampler
// (probe.Keep), as user: a login less for the server, and for gown a dial,
// a greeting and a handshake.
type kept struct {
	s      *session
	user   string
	closed bool
}

// Close quits the kept session, if the sampler has not.
func (k *kept) Close() error {
	if k.closed {
		return nil
	}
	k.closed = true
	k.s.quit()
	return k.s.c.Close()
}

// attempt is what one connection found.
type attempt struct {
	greet    *greeting
	refused  *serverError // ERR sent instead of a greeting
	loginErr *serverError // ERR answering the login; nil when logged in
	tls      *gown.TLS
	inv      *gown.Inventory
	invErr   error
	reads    *reads // the account and the SELECTs that decide; nil when not run
	readsErr error
}

// try opens a connection, reads the greeting, optionally switches to TLS and
// logs in as user with an empty password; once logged in it takes the
// inventory (when wantInv) and quits. It returns a nil attempt only when no greeting (nor an
// ERR in its place) was read; an error with a non-nil attempt means a step
// after the greeting failed.
//
// A login that took the inventory over a connection no other follows (the
// server offers no TLS, or this one is over TLS) is kept for the sampler
// when the engine will sample (probe.Keep) instead of quitting.
func (rn *run) try(user string, overTLS, wantInv bool) (*attempt, error) {
	c, err := rn.d.Dial(rn.ctx, rn.t)
	if err != nil {
		return nil, err
	}
	keep := false
	defer func() {
		if !keep {
			c.Close()
		}
		rn.evidence = append(rn.evidence, c.Evidence()...)
	}()
	s := newSession(c)
	c.Step("greeting")
	g, refused, err := readGreeting(s.br)
	switch {
	case err != nil:
		return nil, err
	case refused != nil:
		return &attempt{refused: refused}, nil
	}
	a := &attempt{greet: g}
	if g.Caps&clientProtocol41 == 0 || g.Caps&clientSecureConnection == 0 {
		return a, errTooOld
	}
	s.greet, s.seq = g, 1
	if overTLS {
		c.Step("ssl request")
		if err := s.startTLS(probe.ServerName(rn.t)); err != nil {
			return a, err
		}
		a.tls = c.TLS()
	}
	c.Step("login " + userLabel(user))
	if a.loginErr, err = s.login(user); err != nil || a.loginErr != nil {
		return a, err
	}
	if wantInv {
		c.Step("inventory")
		a.inv, a.invErr = s.inventory()
		c.Step("account and tables")
		a.reads, a.readsErr = s.tryReads(c.Step)
		if a.invErr == nil && a.readsErr == nil && (overTLS || g.Caps&clientSSL == 0) && rn.kept == nil {
			k := &kept{s: s, user: user}
			if keep = probe.Keep(rn.ctx, k); keep {
				rn.kept = k
				return a, nil
			}
		}
	}
	c.Step("quit")
	s.quit()
	return a, nil
}

// inventory runs inventoryQuery over a logged-in session.
func (s *session) inventory() (*gown.Inventory, error) {
	s.seq = 0
	if err := s.write(append([]byte{comQuery}, inventoryQuery...)); err != nil {
		return nil, err
	}
	rows, truncated, err := readResultSet(s, s.clientCaps()&clientDeprecateEOF != 0, maxSchemas)
	if err != nil {
		return nil, err
	}
	return inventory(rows, truncated)
}

func userLabel(user string) string {
	if user == "" {
		return "anonymous"
	}
	return user
}

// loginVerdict sets the verdict from a login attempt made as who.
func loginVerdict(res *gown.Result, a *attempt, who string) {
	e := a.loginErr
	if e == nil {
		openVerdict(res, a, who)
		return
	}
	// The refusal is the verdict, not a failure: keep the server's words
	// as a detail, not as Error.
	res.Detail("server_error", e.Error())
	switch {
	case refusesUser(e):
		res.Status = gown.StatusAuthRequired
		res.Reason = fmt.Sprintf("root and anonymous refused with empty password (%d)", e.Code)
	case e.Code == erHostNotAllowed, e.Code == erHostBlocked:
		res.Status = gown.StatusRestricted
		res.Reason = fmt.Sprintf("server refuses this client's host at login (%d)", e.Code)
	case e.Code == erSecureTransport:
		res.Status, res.TLS.Mode = gown.StatusAuthRequired, gown.TLSRequired
		res.Reason = "server requires TLS and refused the login over TLS too (3159)"
	case e.Code == erTooManyConnections:
		res.Status, res.Reason = gown.StatusUnknown, "server has too many connections to accept a login (1040)"
	default:
		res.Status = gown.StatusUnknown
		res.Reason = fmt.Sprintf("login refused for a reason gown does not place (%d)", e.Code)
	}
}

// openVerdict records a login that worked. A login is not yet a read: the
// server is open when a SELECT on a table the account names works
// (tryReads), restricted when every one tried is refused or the account
// names no table (an anonymous account with no grants sees only the schemas
// every account sees; one with INSERT alone sees its tables but reads none).
// Root is root only when CURRENT_USER() says so: an anonymous account
// answers a login as root too.
func openVerdict(res *gown.Result, a *attempt, who string) {
	rd := a.reads
	if rd != nil && strings.HasPrefix(who, "root ") && !rd.isRoot() {
		who = "root with empty password, as the account " + rd.account
	}
	res.Detail("login", who)
	if strings.HasPrefix(who, "root ") && (rd == nil || rd.isRoot()) {
		res.Facts.Admin = "the root account logs in with an empty password"
	}
	res.Status, res.Reason, res.Error = gown.StatusOpen, "login as "+who+" accepted", ""
	if a.inv == nil && a.invErr == nil {
		return // a second login, made for TLS facts only
	}
	if a.invErr != nil {
		res.Error = fmt.Sprintf("inventory: %v", a.invErr)
	} else {
		res.Inventory = a.inv
	}
	switch {
	case rd == nil || (rd.readable == "" && a.readsErr != nil):
		// The reads could not run or were cut off: the login and the
		// listing are all there is.
		if a.readsErr != nil && res.Error == "" {
			res.Error = fmt.Sprintf("reads: %v", a.readsErr)
		}
		if a.inv != nil && seesNoData(a.inv) {
			res.Status = gown.StatusRestricted
			res.Reason = "login as " + who + " accepted, but it sees no schema beyond the ones every account sees"
		}
	case rd.readable != "":
		res.Detail("read", "select")
		res.Reason += "; SELECT reads its tables"
	case rd.tables == 0:
		res.Status = gown.StatusRestricted
		res.Reason = "login as " + who + " accepted, but it names no table to read"
	default:
		res.Status = gown.StatusRestricted
		res.Reason = fmt.Sprintf("login as %s accepted, but SELECT is refused on each of the %d tables it names", who, rd.tables)
		if rd.refused != nil {
			res.Reason += fmt.Sprintf(" (%d)", rd.refused.Code)
		}
	}
}

// seesNoData reports whether an inventory holds only the schemas MariaDB and
// MySQL show to an account without grants.
func seesNoData(inv *gown.Inventory) bool {
	for _, d := range inv.Databases {
		if d.Name != "information_schema" && d.Name != "performance_schema" {
			return false
		}
	}
	return true
}
