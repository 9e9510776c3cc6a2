package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/assess"
	"github.com/gownscan/gown/report"
)

// The pages. Each handler reads what it shows through gown.Browser or the
// store's own readers, builds a view and renders one template of ui/.

// card is one figure of the overview's summary row.
type card struct {
	Label, Value, Note, Class string
}

type overviewData struct {
	Sum    gown.ScanSummary
	Total  int64
	Cards  []card
	Charts []barChart
	Trends []colChart
}

func (s *Server) overview(w http.ResponseWriter, r *http.Request) error {
	id, err := s.resolveScan(r.Context(), r.URL.Query().Get("scan"))
	if errors.Is(err, errNoScans) {
		return s.render(w, http.StatusOK, "empty", view{Title: "Overview", Nav: "overview"})
	}
	if err != nil {
		return err
	}
	sum, err := s.br.ScanSummary(r.Context(), id)
	if err != nil {
		return err
	}
	trend, err := s.br.Trend(r.Context(), defaultTrend)
	if err != nil {
		return err
	}
	d := overviewData{Sum: sum}
	for _, n := range sum.BySeverity {
		d.Total += n
	}
	alert := func(b bool) string {
		if b {
			return "alert"
		}
		return ""
	}
	d.Cards = []card{
		{Label: "Services answered", Value: thousands(sum.Services), Note: "on " + thousands(sum.Hosts) + " hosts"},
		{Label: "Open stores", Value: thousands(sum.Open), Note: "answer without authentication", Class: alert(sum.Open > 0)},
		{Label: "Exposed", Value: report.HumanBytes(sum.Bytes), Note: thousands(sum.Items) + " records", Class: alert(sum.Bytes > 0 || sum.Items > 0)},
		{Label: "Findings", Value: thousands(d.Total), Note: thousands(sum.BySeverity[gown.SeverityCritical]) + " critical, " +
			thousands(sum.BySeverity[gown.SeverityHigh]) + " high", Class: alert(sum.BySeverity[gown.SeverityCritical] > 0)},
		{Label: "Apps", Value: thousands(sum.Apps), Note: "with findings in their own code"},
	}
	base := fmt.Sprintf("/scans/%d", id)
	byBytes, byItems := slices.Clone(sum.ByStore), slices.Clone(sum.ByStore)
	slices.SortStableFunc(byBytes, func(a, b gown.StoreCount) int { return cmpDesc(a.Bytes, b.Bytes) })
	slices.SortStableFunc(byItems, func(a, b gown.StoreCount) int { return cmpDesc(a.Items, b.Items) })
	var bi, ii, si, ci []barItem
	for _, c := range byBytes {
		bi = append(bi, barItem{label: storeName(c.Store), value: report.HumanBytes(c.Bytes) + fmt.Sprintf(" · %d of %d open", c.Open, c.Services),
			href: base + "?store=" + url.QueryEscape(c.Store), class: "open", n: float64(c.Bytes)})
	}
	for _, c := range byItems {
		ii = append(ii, barItem{label: storeName(c.Store), value: thousands(c.Items) + " records",
			href: base + "?store=" + url.QueryEscape(c.Store), class: "open", n: float64(c.Items)})
	}
	for sev := gown.SeverityCritical; sev >= gown.SeverityInfo; sev-- {
		n := sum.BySeverity[sev]
		si = append(si, barItem{label: sev.String(), value: thousands(n), href: base + "?severity=" + sev.String(),
			class: "sev-" + sev.String(), n: float64(n)})
	}
	for i, c := range sum.ByClass {
		if i == 12 {
			break
		}
		ci = append(ci, barItem{label: c.Name, value: thousands(c.Count) + " findings", href: base + "?class=" + url.QueryEscape(c.Name),
			class: "open", n: float64(c.Count)})
	}
	d.Charts = []barChart{
		newBarChart("chart-bytes", "Bytes exposed by store", "No open store holds data.", bi),
		newBarChart("chart-records", "Records exposed by store", "No open store holds records.", ii),
		newBarChart("chart-severity", "Findings by severity", "No findings.", si),
		newBarChart("chart-classes", "Findings by sensitive-data class", "No sensitive data found (or sampling was off).", ci),
	}
	d.Trends = []colChart{severityTrend(trend), exposureTrend(trend)}
	return s.render(w, http.StatusOK, "overview", view{Title: fmt.Sprintf("Scan %d overview", id), Nav: "overview", Data: d})
}

func cmpDesc(a, b uint64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

// storeName names a findings' store kind, "" being findings about no
// single store (an app's own code, an address as a whole).
func storeName(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

type scansData struct {
	Scans  []gown.ScanMeta
	Capped bool
}

func (s *Server) scans(w http.ResponseWriter, r *http.Request) error {
	l, err := s.scanList(r.Context())
	if err != nil {
		return err
	}
	return s.render(w, http.StatusOK, "scans", view{Title: "Scans", Nav: "scans", Data: scansData{Scans: l, Capped: len(l) == maxScansListed}})
}

// findingsData is the findings page: filters, sortable columns, a page of
// rows and the links around it.
type findingsData struct {
	Meta                    gown.ScanMeta
	P                       apiFindingPage
	Q                       gown.FindingQuery
	Severities              []option
	Stores, Classes         []option
	Rules                   []option
	Sorts                   []sortLink
	PerPages                []option
	From, To                int64
	First, Prev, Next, Last string
	Base                    string
	Filtered                bool
}

// option is a choice in a filter.
type option struct {
	Value, Label string
	On           bool
}

// sortLink is a column heading: its link sorts by it, flipping the order
// when it already does.
type sortLink struct {
	Label, Href, Aria, Class string
}

func (s *Server) findings(w http.ResponseWriter, r *http.Request) error {
	p, q, err := s.findingPage(r)
	if err != nil {
		return err
	}
	meta, err := s.st.Scan(r.Context(), p.Scan)
	if err != nil {
		return err
	}
	fc, err := s.br.Facets(r.Context(), p.Scan)
	if err != nil {
		return err
	}
	v := r.URL.Query()
	base := fmt.Sprintf("/scans/%d", p.Scan)
	d := findingsData{Meta: meta, P: p, Q: q, Base: base,
		Filtered: len(q.Severities) > 0 || q.Store != "" || q.Class != "" || q.Rule != "" || q.Host != "" || q.Origin != ""}
	for sev := gown.SeverityCritical; sev >= gown.SeverityInfo; sev-- {
		d.Severities = append(d.Severities, option{Value: sev.String(), Label: fmt.Sprintf("%s (%s)", sev, thousands(fc.BySeverity[sev])),
			On: contains(q.Severities, sev)})
	}
	d.Stores = []option{{Value: "", Label: "all stores", On: q.Store == ""}}
	for _, st := range fc.Stores {
		d.Stores = append(d.Stores, option{Value: st, Label: storeName(st), On: q.Store == st})
	}
	d.Classes = []option{{Value: "", Label: "any data class", On: q.Class == ""}}
	// The classes and rules gown knows, rather than those the scan holds:
	// listing those would read every finding of the scan before the page.
	for _, c := range assess.Classes {
		d.Classes = append(d.Classes, option{Value: c, Label: c, On: q.Class == c})
	}
	d.Rules = []option{{Value: "", Label: "any rule", On: q.Rule == ""}}
	for _, r := range report.Rules {
		d.Rules = append(d.Rules, option{Value: r.ID, Label: r.ID, On: q.Rule == r.ID})
	}
	for _, n := range []int{50, 100, 250, 500} {
		d.PerPages = append(d.PerPages, option{Value: strconv.Itoa(n), Label: strconv.Itoa(n) + " per page", On: q.Limit == n})
	}
	sort := q.Sort
	if sort == "" {
		sort = gown.SortSeverity
	}
	for _, c := range []struct {
		label string
		sort  gown.FindingSort
		class string
	}{{"Severity", gown.SortSeverity, ""}, {"Rule", gown.SortRule, ""}, {"Target", gown.SortTarget, ""},
		{"Store", gown.SortStore, ""}, {"Records", gown.SortItems, "n"}, {"Bytes", gown.SortBytes, "n"}} {
		sl := sortLink{Label: c.label, Class: c.class}
		order := "desc"
		if c.sort == sort {
			sl.Aria = "descending"
			if q.Asc {
				sl.Aria = "ascending"
			} else {
				order = "asc"
			}
		}
		sl.Href = link(base, v, map[string]string{"sort": string(c.sort), "order": order, "page": ""})
		d.Sorts = append(d.Sorts, sl)
	}
	if len(p.Rows) > 0 {
		d.From, d.To = int64(q.Offset)+1, int64(q.Offset+len(p.Rows))
	}
	if p.Page > 1 {
		d.First = link(base, v, map[string]string{"page": ""})
		d.Prev = link(base, v, map[string]string{"page": strconv.FormatInt(min(int64(p.Page-1), p.Pages), 10)})
	}
	if int64(p.Page) < p.Pages {
		d.Next = link(base, v, map[string]string{"page": strconv.Itoa(p.Page + 1)})
		d.Last = link(base, v, map[string]string{"page": strconv.FormatInt(p.Pages, 10)})
	}
	return s.render(w, http.StatusOK, "findings", view{Title: fmt.Sprintf("Scan %d findings", p.Scan), Nav: "scans", Data: d})
}

// link is base with the request's parameters, some replaced ("" drops
// one): pagination and sorting keep the filters.
func link(base string, v url.Values, set map[string]string) string {
	c := url.Values{}
	for k, l := range v {
		c[k] = slices.Clone(l)
	}
	for k, x := range set {
		if x == "" {
			c.Del(k)
		} else {
			c.Set(k, x)
		}
	}
	if len(c) == 0 {
		return base
	}
	return base + "?" + c.Encode()
}

type findingData struct {
	Scan    gown.ScanID
	D       gown.FindingDetail
	Rule    report.Rule
	Known   bool
	Product string
}

func (s *Server) finding(w http.ResponseWriter, r *http.Request) error {
	id, err := s.scanID(r, "id")
	if err != nil {
		return err
	}
	d, err := s.br.FindingDetail(r.Context(), id, r.PathValue("fid"))
	if err != nil {
		return err
	}
	fd := findingData{Scan: id, D: d}
	fd.Rule, _, fd.Known = report.RuleByID(d.Finding.Rule)
	if d.Result != nil {
		fd.Product = d.Result.Product
		if d.Result.Version != "" {
			fd.Product += " " + d.Result.Version
		}
	}
	return s.render(w, http.StatusOK, "finding", view{Title: "Finding " + d.Finding.ID, Nav: "scans", Data: fd})
}

type diffData struct {
	diffView
	Scans      []gown.ScanMeta
	Links      []option
	Prev, Next string
}

func (s *Server) diff(w http.ResponseWriter, r *http.Request) error {
	d, err := s.diffPage(r)
	if err != nil {
		return err
	}
	scans, err := s.scanList(r.Context())
	if err != nil {
		return err
	}
	dd := diffData{diffView: d, Scans: scans}
	v := r.URL.Query()
	v.Set("a", strconv.FormatInt(int64(d.A), 10))
	v.Set("b", strconv.FormatInt(int64(d.B), 10))
	all := 0
	for _, n := range d.Counts {
		all += n
	}
	dd.Links = []option{{Value: link("/diff", v, map[string]string{"kind": "", "page": ""}), Label: fmt.Sprintf("all (%d)", all), On: d.Kind == ""}}
	for _, k := range diffKinds {
		dd.Links = append(dd.Links, option{Value: link("/diff", v, map[string]string{"kind": string(k), "page": ""}),
			Label: fmt.Sprintf("%s (%d)", k, d.Counts[k]), On: d.Kind == k})
	}
	if d.Page > 1 {
		dd.Prev = link("/diff", v, map[string]string{"page": strconv.Itoa(d.Page - 1)})
	}
	if int64(d.Page) < d.Pages {
		dd.Next = link("/diff", v, map[string]string{"page": strconv.Itoa(d.Page + 1)})
	}
	return s.render(w, http.StatusOK, "diff", view{Title: fmt.Sprintf("Diff of scans %d and %d", d.A, d.B), Nav: "diff", Data: dd})
}

func (s *Server) apps(w http.ResponseWriter, r *http.Request) error {
	apps, err := s.br.Apps(r.Context())
	if err != nil {
		return err
	}
	return s.render(w, http.StatusOK, "apps", view{Title: "Apps", Nav: "apps", Data: apps})
}

type appData struct {
	App  gown.AppSummary
	Rows []gown.FindingRow
	More int64
	// Stored is the app as the scan stored it (gown.Store.ScanApps), nil
	// for a scan stored before apps were; Groups are its endpoints by
	// party, at most maxAppEndpoints per party.
	Stored *gown.App
	Groups []appGroup
	Counts string
}

// appGroup is one party's endpoints on the app page.
type appGroup struct {
	report.PartyGroup
	Rows []appEndpoint
}

// appEndpoint is one endpoint on the app page.
type appEndpoint struct {
	Value, Store, Where string
	Notes               []string
}

// maxAppEndpoints bounds the endpoints the app page lists per party.
const maxAppEndpoints = 50

// errFound stops a walk once what it looked for is found.
var errFound = errors.New("found")

// storedApp finds the app with package or bundle id id among the apps
// scan stored; nil when it stored none such.
func (s *Server) storedApp(ctx context.Context, scan gown.ScanID, id string) (*gown.App, error) {
	var found *gown.App
	err := s.st.ScanApps(ctx, scan, func(a *gown.App) error {
		if a.ID != id {
			return nil
		}
		found = a
		return errFound
	})
	if err != nil && !errors.Is(err, errFound) {
		return nil, err
	}
	return found, nil
}

func (s *Server) app(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("app")
	apps, err := s.br.Apps(r.Context())
	if err != nil {
		return err
	}
	i := slices.IndexFunc(apps, func(a gown.AppSummary) bool { return a.ID == name })
	if i < 0 {
		return errors.Join(errNotFound, fmt.Errorf("no app %q has findings in this store", name))
	}
	p, err := s.br.FindingPage(r.Context(), apps[i].Scan, gown.FindingQuery{Host: name, Origin: "app", Limit: gown.MaxFindingPage})
	if err != nil {
		return err
	}
	d := appData{App: apps[i], Rows: p.Rows, More: p.Total - int64(len(p.Rows))}
	if d.Stored, err = s.storedApp(r.Context(), apps[i].Scan, name); err != nil {
		return err
	}
	if d.Stored != nil {
		groups := report.ByParty(d.Stored.Endpoints, maxAppEndpoints)
		d.Counts = report.PartyCounts(groups)
		for _, g := range groups {
			ag := appGroup{PartyGroup: g}
			for _, e := range g.Endpoints {
				ag.Rows = append(ag.Rows, appEndpoint{Value: e.Value, Store: report.EndpointStore(e), Where: report.EndpointWhere(e),
					Notes: report.EndpointNotes(d.Stored, e)})
			}
			d.Groups = append(d.Groups, ag)
		}
	}
	return s.render(w, http.StatusOK, "app", view{Title: "App " + name, Nav: "apps", Data: d})
}
