package probe

import (
	"github.com/gownscan/gown"
	"github.com/gownscan/gown/redact"
)

// Caps, in bytes, on the strings of a result once the text pass is done.
// Each is well above what a sane server sends in that place, so clean
// answers pass unchanged; they bound what a hostile one can make gown
// store and print.
const (
	capName     = 256  // product, version, TLS version, a fact's short words
	capReason   = 512  // reason, a sign's place
	capError    = 1024 // error, a detail's value, a sign's detail
	capKey      = 64   // a detail's key (the prober's own word)
	capDBName   = 512  // a database, index, bucket or key name
	capField    = 256  // a field path or a masked example
	capPath     = 512  // a directory or file a store writes to
	capStep     = 256  // an evidence step's name
	capEvidence = 2048 // one direction of an exchange: 320 bytes escaped, then masked
)

// textPass runs redact.Text over every string of r that a server could have
// chosen, before r leaves the engine: the two places that hand results to
// Run's output (a probe worker, a connector whose connect failed) call it
// last. Whatever a prober, a sampler or the Analyze hook copied from the
// wire, what is stored and printed is masked, bounded, valid UTF-8 and free
// of anything that could drive a terminal. Probers need no copy of this:
// they may keep a server's text as it came. Analyze sees the raw text (a
// ransom note's name is matched as the server spelt it).
//
// Details values that are bare decimal numbers are left whole (capped):
// they are counts and codes gown itself formatted (store_bytes, docs,
// http_status), and the long-number mask would destroy a large count.
func textPass(r *gown.Result) {
	r.Product = redact.Text(r.Product, capName)
	r.Version = redact.Text(r.Version, capName)
	r.Reason = redact.Text(r.Reason, capReason)
	r.Error = redact.Text(r.Error, capError)
	r.TLS.Version = redact.Text(r.TLS.Version, capName)
	r.TLS.Subject = redact.Text(r.TLS.Subject, capReason)
	r.TLS.Issuer = redact.Text(r.TLS.Issuer, capReason)
	passDetails(r)
	passFacts(&r.Facts)
	if r.Inventory != nil {
		for i := range r.Inventory.Databases {
			d := &r.Inventory.Databases[i]
			d.Name = redact.Text(d.Name, capDBName)
		}
	}
	for i := range r.Evidence {
		e := &r.Evidence[i]
		e.Step = redact.Text(e.Step, capStep)
		e.Sent = redact.Text(e.Sent, capEvidence)
		e.Received = redact.Text(e.Received, capEvidence)
	}
	if r.Exposure != nil {
		for i := range r.Exposure.Classes {
			c := &r.Exposure.Classes[i]
			c.Class = redact.Text(c.Class, capName)
			c.Database = redact.Text(c.Database, capDBName)
			texts(c.Fields, capField)
			texts(c.Examples, capField)
		}
	}
	for i := range r.Signs {
		s := &r.Signs[i]
		s.Kind = redact.Text(s.Kind, capName)
		s.Where = redact.Text(s.Where, capReason)
		s.Detail = redact.Text(s.Detail, capError)
	}
}

// passDetails rewrites the Details map only when a key or a value changes,
// so that a clean result costs no allocation.
func passDetails(r *gown.Result) {
	changed := false
	for k, v := range r.Details {
		if redact.Text(k, capKey) != k || detailValue(v) != v {
			changed = true
			break
		}
	}
	if !changed {
		return
	}
	out := make(map[string]string, len(r.Details))
	for k, v := range r.Details {
		out[redact.Text(k, capKey)] = detailValue(v)
	}
	r.Details = out
}

// detailValue is the text pass of one Details value (see textPass).
func detailValue(v string) string {
	if !decimal(v) {
		return redact.Text(v, capError)
	}
	if len(v) > capName {
		// ASCII digits: a byte cut is a character cut.
		return v[:capName-len(redact.Ellipsis)] + redact.Ellipsis
	}
	return v
}

// decimal reports whether s is a bare decimal number.
func decimal(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// passFacts runs the pass over the facts' strings.
func passFacts(f *gown.Facts) {
	f.Admin = redact.Text(f.Admin, capName)
	if f.Replica != nil {
		f.Replica.Host = redact.Text(f.Replica.Host, capName)
		f.Replica.Link = redact.Text(f.Replica.Link, capName)
	}
	if f.Persistence != nil {
		f.Persistence.Dir = redact.Text(f.Persistence.Dir, capPath)
		f.Persistence.File = redact.Text(f.Persistence.File, capPath)
	}
}

// texts runs the pass over each string of l in place.
func texts(l []string, max int) {
	for i, s := range l {
		l[i] = redact.Text(s, max)
	}
}
