package report

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/gownscan/gown"
)

// What a result says of the data it exposes and of compromise, in the
// compact forms the formats share. The classes come from assess (via the
// findings, which carry them most harmful first) and the signs from the
// result.

// signHoneypot is the one sign kind that is not a compromise.
const signHoneypot = "honeypot"

// shortClass names a class in a narrow column.
var shortClass = map[string]string{
	"password": "password", "password-hash": "pwhash", "payment-card": "card", "iban": "iban",
	"government-id": "govid", "access-token": "token", "api-key": "apikey", "email": "email",
	"phone": "phone", "name": "name", "postal-address": "address", "geo": "geo",
	"device-id": "device", "ip-address": "ip",
}

func short(class string) string {
	if s, ok := shortClass[class]; ok {
		return s
	}
	return class
}

// resultClasses lists the classes a result's store holds, most harmful
// first: from its findings when they carry them, else from its exposure in
// the order listed.
func resultClasses(r *gown.Result, fs []gown.Finding) []string {
	for _, f := range fs {
		if len(f.Classes) > 0 {
			return f.Classes
		}
	}
	if r == nil || r.Exposure == nil {
		return nil
	}
	var out []string
	for _, c := range r.Exposure.Classes {
		if !contains(out, c.Class) {
			out = append(out, c.Class)
		}
	}
	return out
}

// compromiseKinds lists the kinds of compromise signs on a result, in order
// of first appearance; honeypot says whether a honeypot sign is there too.
func compromiseKinds(r *gown.Result) (kinds []string, honeypot bool) {
	for _, s := range r.Signs {
		switch {
		case s.Kind == signHoneypot:
			honeypot = true
		case !contains(kinds, s.Kind):
			kinds = append(kinds, s.Kind)
		}
	}
	return kinds, honeypot
}

// dataCell is the table's DATA column: "!" when the store was already
// compromised, "?" when it may be a honeypot, then up to three classes and
// how many more: "!card,email,geo +2". "-" when nothing was found.
func dataCell(r *gown.Result, fs []gown.Finding) string {
	classes := resultClasses(r, fs)
	kinds, honeypot := compromiseKinds(r)
	var b strings.Builder
	switch {
	case len(kinds) > 0:
		b.WriteByte('!')
	case honeypot:
		b.WriteByte('?')
	}
	for i, c := range classes {
		if i == 3 {
			fmt.Fprintf(&b, " +%d", len(classes)-3)
			break
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(short(c))
	}
	if b.Len() == 0 {
		return "-"
	}
	if len(classes) == 0 {
		if len(kinds) > 0 {
			b.WriteString(kinds[0])
		} else if honeypot {
			b.WriteString(signHoneypot)
		}
	}
	return b.String()
}

// dbClasses lists the short names of the classes found in one database.
func dbClasses(r *gown.Result, db string) string {
	if r.Exposure == nil {
		return ""
	}
	var out []string
	for _, c := range r.Exposure.Classes {
		if c.Database == db {
			out = append(out, short(c.Class))
		}
	}
	return strings.Join(out, ",")
}

// signsText writes a result's signs in one line: "ransom-note at
// read_me; redis-cron at db0/backup1".
func signsText(r *gown.Result) string {
	var parts []string
	for _, s := range r.Signs {
		p := s.Kind
		if s.Where != "" {
			p += " at " + s.Where
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "; ")
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// sensitive says a store's classes make it critical: any but an IP address
// alone (assess.Sensitive).
func sensitive(classes []string) bool {
	for _, c := range classes {
		if c != "ip-address" {
			return true
		}
	}
	return false
}

// Standalone findings (an app's own code, one address answering as many
// stores) reach a writer with a nil result. The formats show them by their
// subject, the finding's target, and by where in the app they point.

// subject is what a standalone finding is about, as a result a format can
// show: the app's id or the address, with no status.
func subject(fs []gown.Finding) *gown.Result {
	r := &gown.Result{}
	if len(fs) > 0 {
		r.Target = fs[0].Target
	}
	return r
}

// subjectName names a finding's target as host:port (and its path, for a
// container or a project under the host), or the host alone
// for a subject without a port (an app by its id, an address as a whole).
func subjectName(t gown.Target) string {
	if t.Port == 0 {
		return t.Host
	}
	return net.JoinHostPort(t.Host, strconv.Itoa(t.Port)) + t.Path
}

// targetText is subjectName with the address dialled when it differs.
func targetText(t gown.Target) string {
	if t.Port == 0 {
		return t.Host
	}
	return t.String()
}

// Location writes one place in an app as a reader looks it up:
// "shop.apk!classes.dex @0x1f4 (dex strings)".
func Location(s gown.Source) string {
	where := s.Container
	if s.Entry != "" {
		if where != "" {
			where += "!"
		}
		where += s.Entry
	}
	where += fmt.Sprintf(" @%#x", s.Offset)
	if s.Section != "" {
		where += " (" + s.Section + ")"
	}
	return where
}

// locationsText writes a finding's locations in one line, at most n of
// them and how many more.
func locationsText(ls []gown.Source, n int) string {
	var parts []string
	for i, l := range ls {
		if i == n {
			parts = append(parts, fmt.Sprintf("+%d more", len(ls)-n))
			break
		}
		parts = append(parts, Location(l))
	}
	return strings.Join(parts, "; ")
}
