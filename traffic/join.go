package traffic

import (
	"cmp"
	"slices"
	"strings"

	"github.com/gownscan/gown"
)

// Seen says where a back end was seen: in the app and the traffic, in the
// app only (named but not reached in what was recorded), or in the
// traffic only (decided at run time: config fetched from a server, names
// assembled late, or a library's).
type Seen string

// The three sides of the join.
const (
	SeenBoth    Seen = "both"
	SeenApp     Seen = "app-only"
	SeenTraffic Seen = "traffic-only"
)

// JoinRow is one back end of the join of an app's static extraction with
// its recorded traffic.
type JoinRow struct {
	Seen Seen   `json:"seen"`
	Host string `json:"host"`
	Port int    `json:"port,omitempty"`
	// App is the endpoint as the app names it (its value), Traffic the
	// endpoint as the traffic reached it.
	App        string `json:"app,omitempty"`
	Traffic    string `json:"traffic,omitempty"`
	FirstParty bool   `json:"first_party"`
	// Party is the app's word on whose server the host is (gown.Endpoint's
	// Party) where the app names it; else the traffic's (Backend.Party).
	Party gown.Party `json:"party,omitempty"`
}

// partyOf is e's party, or first/third from FirstParty where e has none.
func partyOf(e gown.Endpoint) gown.Party {
	switch {
	case e.Party != "":
		return e.Party
	case e.FirstParty:
		return gown.PartyFirst
	}
	return gown.PartyThird
}

// Join matches an app's endpoints with the traffic's by host and port (a
// host alone where the app names no port), case-insensitively. Rows come
// both first, then app-only, then traffic-only, each sorted by host and
// port. Endpoints without a host (buckets named by path) are left out.
func Join(app, traffic []gown.Endpoint) []JoinRow {
	type key struct {
		host string
		port int
	}
	norm := func(h string) string { return strings.ToLower(strings.TrimSuffix(h, ".")) }
	tr := map[key]gown.Endpoint{}
	trHost := map[string]gown.Endpoint{}
	for _, e := range traffic {
		k := key{norm(e.Host), e.Port}
		if _, ok := tr[k]; !ok {
			tr[k] = e
		}
		if _, ok := trHost[k.host]; !ok {
			trHost[k.host] = e
		}
	}
	used := map[key]bool{}
	rowOf := map[key]bool{}
	var rows []JoinRow
	for _, e := range app {
		if e.Host == "" {
			continue
		}
		k := key{norm(e.Host), e.Port}
		if rowOf[k] {
			continue
		}
		row := JoinRow{Seen: SeenApp, Host: k.host, Port: e.Port, App: e.Value, FirstParty: e.FirstParty, Party: partyOf(e)}
		t, ok := tr[k]
		if !ok && e.Port == 0 {
			t, ok = trHost[k.host]
		}
		if !ok {
			t, ok = tr[key{k.host, 0}] // only resolved: the app looked the name up
		}
		if ok {
			row.Seen, row.Traffic, row.Port = SeenBoth, t.Value, t.Port
			used[key{norm(t.Host), t.Port}] = true
		}
		rowOf[k] = true
		rows = append(rows, row)
	}
	for _, e := range traffic {
		k := key{norm(e.Host), e.Port}
		if used[k] {
			continue
		}
		used[k] = true
		rows = append(rows, JoinRow{Seen: SeenTraffic, Host: k.host, Port: e.Port, Traffic: e.Value, FirstParty: e.FirstParty, Party: partyOf(e)})
	}
	rank := map[Seen]int{SeenBoth: 0, SeenApp: 1, SeenTraffic: 2}
	slices.SortStableFunc(rows, func(x, y JoinRow) int {
		return cmp.Or(rank[x.Seen]-rank[y.Seen], strings.Compare(x.Host, y.Host), x.Port-y.Port)
	})
	return rows
}
