// Package assess draws findings from results and grades them. The rule table
// is docs/severity.md; this file is its code.
package assess

import (
	"fmt"

	"github.com/gownscan/gown"
)

// Findings grades one result. It returns nothing for ports where no store was
// identified.
func Findings(r *gown.Result) []gown.Finding {
	if r == nil || r.Store == "" || !r.Status.Answered() {
		return nil
	}
	f := gown.Finding{Target: r.Target, Store: r.Store}
	name := r.Product
	if name == "" {
		name = r.Store
	}
	switch r.Status {
	case gown.StatusOpen:
		f.Rule = "open-store"
		if r.Inventory != nil && r.Inventory.Items > 0 {
			f.Severity = gown.SeverityHigh
			f.Items, f.Bytes = r.Inventory.Items, r.Inventory.Bytes
			f.Title = fmt.Sprintf("%s answers without authentication and holds %d items", name, r.Inventory.Items)
		} else {
			f.Severity = gown.SeverityMedium
			f.Title = fmt.Sprintf("%s answers without authentication (no data seen)", name)
		}
	case gown.StatusAuthRequired:
		if r.TLS.Mode != gown.TLSNone {
			return nil
		}
		f.Rule, f.Severity = "auth-without-tls", gown.SeverityLow
		f.Title = fmt.Sprintf("%s asks for credentials but offers no TLS: they cross the network in clear", name)
	case gown.StatusRestricted, gown.StatusProtected:
		f.Rule, f.Severity = "store-reachable", gown.SeverityInfo
		f.Title = fmt.Sprintf("%s is reachable but refuses this client (%s)", name, r.Status)
	default:
		return nil
	}
	f.ID = gown.FindingID(f.Rule, f.Store, f.Target)
	return []gown.Finding{f}
}
