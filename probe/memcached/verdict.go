package memcached

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
)

// product is what a server that speaks memcached's protocol is called.
const product = "memcached"

// statDetails and settingDetails are the facts kept from stats and stats
// settings: how big and busy the cache is, and whether anything guards it
// (flush_enabled says anyone who can connect can also wipe it).
var (
	statDetails    = []string{"limit_maxbytes", "curr_connections", "uptime", "total_items"}
	settingDetails = []string{"auth_enabled_sasl", "auth_enabled_ascii", "maxconns", "binding_protocol", "flush_enabled"}
)

// textAttempt sends stats, then stats settings when it was answered.
func textAttempt(ctx context.Context, t gown.Target, d probe.Dialer) attempt {
	return dial(ctx, t, d, func(s *session) (*gown.Result, error) {
		st, err := s.stats("stats", cmdStats)
		var ref *refusal
		var nt *errNotText
		switch {
		case err == nil:
			r := fromStats(s.result(gown.StatusOpen, "stats answered without authentication"), st)
			return r, s.settings(r)
		case errors.As(err, &ref):
			return s.refused(ref), nil
		case errors.As(err, &nt):
			return s.notText(nt.head), nil
		}
		return nil, err
	})
}

// stats sends a text stats request and reads the STAT lines.
func (s *session) stats(step, req string) (stats, error) {
	if err := s.send(step, req); err != nil {
		return nil, err
	}
	st, err := readStats(s.br)
	if err != nil {
		return nil, s.wrap(step, err)
	}
	return st, nil
}

// settings adds what stats settings shows. A refusal is not a failure: a
// proxy or an old server may lack the sub-command, and the verdict stands.
func (s *session) settings(r *gown.Result) error {
	st, err := s.stats("stats settings", cmdSettings)
	var ref *refusal
	if errors.As(err, &ref) {
		return nil
	}
	for _, k := range settingDetails {
		if v := st.get(k); v != "" {
			r.Detail(k, v)
		}
	}
	return err
}

// fromStats fills an open result from a stats reply. A counter that is not a
// number is kept out of the inventory and noted, not guessed.
func fromStats(r *gown.Result, st stats) *gown.Result {
	r.Product, r.Version = product, st.get("version")
	for _, k := range statDetails {
		if v := st.get(k); v != "" {
			r.Detail(k, v)
		}
	}
	db := gown.Database{Name: "cache"}
	var bad []string
	for _, c := range []struct {
		name string
		dst  *uint64
	}{{"curr_items", &db.Items}, {"bytes", &db.Bytes}} {
		v := st.get(c.name)
		if v == "" {
			continue
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			bad = append(bad, fmt.Sprintf("%s %q is not a count", c.name, v))
			continue
		}
		*c.dst = n
	}
	r.Inventory = &gown.Inventory{}
	r.Inventory.Add(db)
	if len(bad) > 0 {
		r.Error = "memcached stats on " + r.Target.String() + ": " + strings.Join(bad, "; ")
	}
	return r
}

// refused turns an error line in answer to stats into a verdict.
func (s *session) refused(ref *refusal) *gown.Result {
	switch {
	case ref.kind == "CLIENT_ERROR" && ref.msg == "unauthenticated":
		r := s.result(gown.StatusAuthRequired, "stats refused with CLIENT_ERROR unauthenticated (ASCII authentication)")
		r.Product = product
		r.Detail("auth_enabled_ascii", "yes")
		return r
	case ref.kind == "ERROR":
		// memcached answers ERROR to commands it does not know; so do other
		// line protocols. Neither open nor closed can be told from it.
		return s.result(gown.StatusUnknown, "stats answered with a bare ERROR: stats disabled, a proxy, or not memcached")
	}
	r := s.result(gown.StatusUnknown, "stats refused with "+ref.kind)
	r.Product = product
	r.Detail("reply", ref.Error())
	return r
}

// notText names what answered instead of memcached.
func (s *session) notText(b []byte) *gown.Result {
	return s.result(gown.StatusNotService, "answered with "+describe(b)+", not memcached")
}

// describe says in a few words what a non-memcached reply looks like.
func describe(b []byte) string {
	switch {
	case len(b) == 0:
		return "nothing"
	case bytes.HasPrefix(b, []byte("-ERR")) || bytes.HasPrefix(b, []byte("-NOAUTH")) || bytes.HasPrefix(b, []byte("-DENIED")):
		return "a Redis error"
	case bytes.ContainsRune([]byte("+-:$*"), rune(b[0])):
		return "a RESP reply"
	case bytes.HasPrefix(b, []byte("HTTP/")):
		return "HTTP"
	case len(b) >= 2 && (b[0] == 0x15 || b[0] == 0x16) && b[1] == 0x03:
		return "a TLS record"
	case printable(bytes.Trim(b, "\r\n")):
		return "a text line"
	}
	return "binary data"
}

// binaryAttempt asks for the SASL mechanisms on a new connection, after the
// text request was dropped unanswered.
func binaryAttempt(ctx context.Context, t gown.Target, d probe.Dialer) attempt {
	return dial(ctx, t, d, func(s *session) (*gown.Result, error) {
		if err := s.send("SASL LIST MECHS", binSASLList); err != nil {
			return nil, err
		}
		p, err := readPacket(s.br, opSASLList)
		var nt *errNotText
		switch {
		case errors.As(err, &nt):
			return s.notText(nt.head), nil
		case err != nil:
			return nil, s.wrap("SASL LIST MECHS", err)
		}
		r := s.result(gown.StatusUnknown, "")
		r.Product = product
		switch p.status {
		case statusOK:
			r.Detail("sasl_mechanisms", string(p.value)) // the engine's text pass escapes what is not printable
			r.Version = s.binVersion()
		case statusAuthError:
		case statusUnknownCmd, statusUnsupported:
			// A binary-only server (-B binary) without SASL: stat decides.
		default:
			r.Reason = fmt.Sprintf("SASL LIST MECHS answered status 0x%04x", p.status)
			return r, nil
		}
		return r, s.binStats(r, p.status)
	})
}

// binStats sends a binary stat and decides: stats mean open whatever SASL
// offers, an auth error means auth-required.
func (s *session) binStats(r *gown.Result, listStatus uint16) error {
	sasl := listStatus == statusOK || listStatus == statusAuthError
	if sasl {
		// SASL is there: the verdict stands even if stat cannot be read.
		r.Status, r.Reason = gown.StatusAuthRequired, "text commands dropped and SASL offered in the binary protocol"
	} else {
		r.Reason = "binary protocol answered without SASL, but stat could not be read"
	}
	if err := s.send("stat", binStat); err != nil {
		return err
	}
	st, status, err := readBinStats(s.br)
	switch {
	case err != nil:
		return s.wrap("stat", err)
	case status == statusOK:
		version := r.Version
		fromStats(r, st)
		if r.Version == "" {
			r.Version = version
		}
		r.Status, r.Reason = gown.StatusOpen, "binary stat answered without authentication"
	case status == statusAuthError || status == statusNoAccess:
		r.Status, r.Reason = gown.StatusAuthRequired, "binary stat refused before SASL authentication"
	case !sasl:
		r.Reason = fmt.Sprintf("text commands dropped, no SASL, and binary stat answered status 0x%04x", status)
	}
	return nil
}

// binVersion asks for the version, which memcached answers before
// authentication; any failure just leaves the version unknown.
func (s *session) binVersion() string {
	if s.send("VERSION", binVersion) != nil {
		return ""
	}
	p, err := readPacket(s.br, opVersion)
	if err != nil || p.status != statusOK || !printable(p.value) {
		return ""
	}
	return string(p.value)
}
