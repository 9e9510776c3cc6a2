package assess

import (
	"fmt"
	"sort"
	"strings"

	"github.com/gownscan/gown"
)

// Honeypots answer everything: gown prefers consistency over trust. A
// honeypot sign says a result looks staged; it lowers nothing and is never
// a compromise, but a reader should weigh the finding beside it.

// honeypotSigns checks one result: sizes that cannot hold the counts, the
// same counts in every database, a banner a honeypot ships with.
func honeypotSigns(r *gown.Result) []gown.Sign {
	var out []gown.Sign
	if inv := r.Inventory; inv != nil {
		var user []gown.Database
		for _, d := range inv.Databases {
			if d.System {
				continue
			}
			user = append(user, d)
			// Every record takes at least a byte; a store that says it
			// keeps more records than bytes is making its numbers up.
			if d.Items > 0 && d.Bytes > 0 && d.Bytes < d.Items {
				out = append(out, gown.Sign{Kind: SignHoneypot, Where: d.Name,
					Detail: fmt.Sprintf("reports %d records in %d bytes: fewer bytes than records", d.Items, d.Bytes)})
			}
		}
		if inv.Items > 0 && inv.Bytes > 0 && inv.Bytes < inv.Items && len(out) == 0 {
			out = append(out, gown.Sign{Kind: SignHoneypot, Where: "inventory",
				Detail: fmt.Sprintf("reports %d records in %d bytes: fewer bytes than records", inv.Items, inv.Bytes)})
		}
		if len(user) >= 3 && identical(user) {
			out = append(out, gown.Sign{Kind: SignHoneypot, Where: "inventory",
				Detail: fmt.Sprintf("all %d databases report the same %d records and %d bytes", len(user), user[0].Items, user[0].Bytes)})
		}
	}
	for _, b := range cannedBanners() {
		if b.matches(r) {
			out = append(out, gown.Sign{Kind: SignHoneypot, Where: "banner",
				Detail: fmt.Sprintf("answers with the out-of-the-box banner of %s", b.Name)})
		}
	}
	return out
}

func identical(dbs []gown.Database) bool {
	for _, d := range dbs[1:] {
		if d.Items != dbs[0].Items || d.Bytes != dbs[0].Bytes {
			return false
		}
	}
	return dbs[0].Items > 0
}

// matches says a result shows every field the banner sets.
func (b cannedBanner) matches(r *gown.Result) bool {
	if b.Store == "" && b.Product == "" && b.Version == "" && len(b.Details) == 0 && len(b.Databases) == 0 {
		return false
	}
	if (b.Store != "" && b.Store != r.Store) || (b.Product != "" && b.Product != r.Product) || (b.Version != "" && b.Version != r.Version) {
		return false
	}
	for k, v := range b.Details {
		if r.Details[k] != v {
			return false
		}
	}
	for _, name := range b.Databases {
		found := false
		if r.Inventory != nil {
			for _, d := range r.Inventory.Databases {
				found = found || d.Name == name
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// MultiStoreThreshold is how many different stores one address must answer
// as before gown calls it a likely honeypot.
const MultiStoreThreshold = 3

// MultiStore watches a scan's results for one address answering as many
// different stores, which a honeypot (T-Pot, qeeqbox/honeypots) does and a
// production host rarely does. It holds one small set per address that
// answered as an identified store, not the results; Add is called per
// result as it arrives and Signs once at the end. Not safe for concurrent
// use.
type MultiStore struct {
	byAddr map[string]map[string]int // address → store → port
}

// Add notes one result.
func (m *MultiStore) Add(r *gown.Result) {
	if r == nil || r.Store == "" || !identified(r.Status) {
		return
	}
	addr := r.Target.Host
	if r.Target.Addr.IsValid() {
		// Many stores on loopback is a developer's machine or a test bed,
		// not a decoy on the Internet.
		if r.Target.Addr.IsLoopback() {
			return
		}
		addr = r.Target.Addr.String()
	}
	if m.byAddr == nil {
		m.byAddr = map[string]map[string]int{}
	}
	s := m.byAddr[addr]
	if s == nil {
		s = map[string]int{}
		m.byAddr[addr] = s
	}
	if _, ok := s[r.Store]; !ok {
		s[r.Store] = r.Target.Port
	}
}

// HostSign is a honeypot sign about a whole address.
type HostSign struct {
	Addr   string
	Stores []string // sorted
	Sign   gown.Sign
}

// Signs returns one sign per address that answered as at least
// MultiStoreThreshold different stores, sorted by address.
func (m *MultiStore) Signs() []HostSign {
	var out []HostSign
	for addr, s := range m.byAddr {
		if len(s) < MultiStoreThreshold {
			continue
		}
		stores := make([]string, 0, len(s))
		for name := range s {
			stores = append(stores, name)
		}
		sort.Strings(stores)
		var where []string
		for _, name := range stores {
			where = append(where, fmt.Sprintf("%s:%d", name, s[name]))
		}
		out = append(out, HostSign{Addr: addr, Stores: stores, Sign: gown.Sign{Kind: SignHoneypot, Where: addr,
			Detail: fmt.Sprintf("one address answers as %d different data stores (%s): likely a honeypot", len(stores), strings.Join(where, ", "))}})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Addr < out[j].Addr })
	return out
}

// Findings turns the multi-store signs into findings, one per address, to
// report after the scan (rule honeypot-suspected).
func (m *MultiStore) Findings() []gown.Finding {
	var out []gown.Finding
	for _, h := range m.Signs() {
		t := gown.Target{Host: h.Addr}
		out = append(out, newFinding(RuleHoneypot, "", t, h.Sign.Detail, nil))
	}
	return out
}

// HoneypotAcrossResults applies the multi-store check to results already
// in hand (a report of a finished scan); a live scan streams them into a
// MultiStore instead.
func HoneypotAcrossResults(results []*gown.Result) []HostSign {
	var m MultiStore
	for _, r := range results {
		m.Add(r)
	}
	return m.Signs()
}

// identified says the status means a store was recognised.
func identified(s gown.Status) bool {
	switch s {
	case gown.StatusOpen, gown.StatusAuthRequired, gown.StatusRestricted, gown.StatusProtected:
		return true
	}
	return false
}
