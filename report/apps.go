package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gownscan/gown"
)

// PartyOrder is the order reports show an app's endpoints in: the app's own
// back ends first, then those gown cannot place, internal names, third
// parties and development hosts.
var PartyOrder = []gown.Party{gown.PartyFirst, gown.PartyUnknown, gown.PartyInternal, gown.PartyThird, gown.PartyDev}

// endpointParty is e's party, read from FirstParty for an endpoint written
// before parties (first, or else third).
func endpointParty(e gown.Endpoint) gown.Party { return gown.PartyOr(e.Party, e.FirstParty) }

// PartyGroup is one party's endpoints of an app, in extraction's order.
type PartyGroup struct {
	Party     gown.Party
	Endpoints []gown.Endpoint
	// More counts the endpoints of the party left out of Endpoints.
	More int
}

// Label names the group for a reader: "first party", "unknown party".
func (g PartyGroup) Label() string {
	switch g.Party {
	case gown.PartyDev:
		return "development hosts"
	case gown.PartyInternal:
		return "internal names"
	}
	return string(g.Party) + " party"
}

// Count is how many endpoints of the party the app names.
func (g PartyGroup) Count() int { return len(g.Endpoints) + g.More }

// ByParty groups an app's endpoints by party, in PartyOrder (a party no
// order lists last, by name), keeping at most keep endpoints of each
// group (keep < 0: all) and counting the rest.
func ByParty(eps []gown.Endpoint, keep int) []PartyGroup {
	at := map[gown.Party]int{}
	var out []PartyGroup
	for _, p := range PartyOrder {
		at[p] = len(out)
		out = append(out, PartyGroup{Party: p})
	}
	for _, e := range eps {
		p := endpointParty(e)
		i, ok := at[p]
		if !ok {
			i = len(out)
			at[p] = i
			out = append(out, PartyGroup{Party: p})
		}
		if keep >= 0 && len(out[i].Endpoints) >= keep {
			out[i].More++
			continue
		}
		out[i].Endpoints = append(out[i].Endpoints, e)
	}
	kept := out[:0]
	for _, g := range out {
		if g.Count() > 0 {
			kept = append(kept, g)
		}
	}
	return kept
}

// PartyCounts sums up an app's endpoints by party in one line:
// "first 3 · unknown 1 · third 12".
func PartyCounts(groups []PartyGroup) string {
	var parts []string
	for _, g := range groups {
		parts = append(parts, fmt.Sprintf("%s %d", g.Party, g.Count()))
	}
	return strings.Join(parts, " · ")
}

// EndpointStore names what an endpoint points at: the store its scheme or
// host says, else its kind ("url", "host").
func EndpointStore(e gown.Endpoint) string {
	if e.Store != "" {
		return e.Store
	}
	return string(e.Kind)
}

// EndpointWhere says where in the app an endpoint was found: its first
// source, how many more, and for one built at run time the places of its
// parts.
func EndpointWhere(e gown.Endpoint) string {
	if len(e.Sources) == 0 {
		return ""
	}
	s := Location(e.Sources[0])
	if n := len(e.Sources) - 1; n > 0 {
		s += fmt.Sprintf(" (+%d more)", n)
	}
	if len(e.Parts) > 0 {
		s += fmt.Sprintf("; built at run time from %d parts: %s", len(e.Parts), locationsText(e.Parts, 3))
	}
	return s
}

// EndpointNotes are the short facts beside an endpoint's value: clear
// text the app's policy lets through, TLS.
func EndpointNotes(a *gown.App, e gown.Endpoint) []string {
	var out []string
	for _, c := range a.Cleartext {
		if slices.Contains(c.Endpoints, e.Value) {
			out = append(out, "clear text allowed")
			break
		}
	}
	if len(e.Parts) > 0 {
		out = append(out, "built at run time")
	}
	return out
}

// appTitle names an app in a heading: its id and version, else its file.
func appTitle(a *gown.App) string {
	if a.ID == "" {
		return a.File
	}
	if a.Version == "" {
		return a.ID
	}
	return a.ID + " " + a.Version
}

// tableListed is how many endpoints of each listed party the table and
// Markdown name; third-party and development hosts are only counted there.
const tableListed = 10

// listedParty reports whether the compact views (table, Markdown) name a
// party's endpoints one by one: those gown probes or might.
func listedParty(p gown.Party) bool {
	return p != gown.PartyThird && p != gown.PartyDev
}
