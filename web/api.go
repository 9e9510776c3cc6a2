package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/store"
)

// The JSON API mirrors the pages (docs/dashboard.md lists it). Every
// handler reads; shapes are gown's own JSON types, so a field means what it
// means in gown scan --json.

// maxParam caps a text parameter: no filter value is longer.
const maxParam = 512

// defaultPerPage and the trend's default and cap.
const (
	defaultPerPage = 100
	defaultTrend   = 30
	maxTrend       = 200
)

// scanID reads the scan a request names in its path: a number, or
// "latest" for the newest scan.
func (s *Server) scanID(r *http.Request, name string) (gown.ScanID, error) {
	v := r.PathValue(name)
	if v == "" {
		v = r.URL.Query().Get(name)
	}
	return s.resolveScan(r.Context(), v)
}

func (s *Server) resolveScan(ctx context.Context, v string) (gown.ScanID, error) {
	if v == "" || v == "latest" {
		id, err := s.newest(ctx, 0)
		if err == nil && id == 0 {
			err = errNoScans
		}
		return id, err
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return 0, badf("%q is not a scan id", v)
	}
	return gown.ScanID(n), nil
}

// errNoScans means the store holds no scan yet.
var errNoScans = errors.Join(errNotFound, errors.New("the results store holds no scan yet: run gown scan or gown app with this --db"))

// newest returns the newest scan's id after skipping skip scans, 0 when
// there are not that many.
func (s *Server) newest(ctx context.Context, skip int) (gown.ScanID, error) {
	var id gown.ScanID
	i := 0
	errStop := errors.New("stop")
	err := s.st.Scans(ctx, func(m gown.ScanMeta) error {
		if i == skip {
			id = m.ID
			return errStop
		}
		i++
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return 0, err
	}
	return id, nil
}

// findingQuery reads the findings filters, sort and page of a request.
func findingQuery(v url.Values) (gown.FindingQuery, int, error) {
	var q gown.FindingQuery
	for _, p := range []string{"store", "class", "rule", "host", "origin", "sort", "order", "page", "per_page"} {
		if len(v.Get(p)) > maxParam {
			return q, 0, badf("parameter %s is longer than %d bytes", p, maxParam)
		}
	}
	for _, list := range v["severity"] {
		for _, name := range strings.Split(list, ",") {
			if name = strings.TrimSpace(name); name == "" {
				continue
			}
			sev, err := gown.ParseSeverity(name)
			if err != nil {
				return q, 0, badRequest{err.Error()}
			}
			if !contains(q.Severities, sev) {
				q.Severities = append(q.Severities, sev)
			}
		}
	}
	q.Store, q.Class, q.Rule, q.Host, q.Origin = v.Get("store"), v.Get("class"), v.Get("rule"), v.Get("host"), v.Get("origin")
	if sort := v.Get("sort"); sort != "" {
		if !contains(gown.FindingSorts, gown.FindingSort(sort)) {
			return q, 0, badf("sort %q: want one of severity, target, store, rule, items, bytes", sort)
		}
		q.Sort = gown.FindingSort(sort)
	}
	switch v.Get("order") {
	case "", "desc":
	case "asc":
		q.Asc = true
	default:
		return q, 0, badf("order %q: want asc or desc", v.Get("order"))
	}
	page, err := intParam(v, "page", 1, 1, 1<<31)
	if err != nil {
		return q, 0, err
	}
	q.Limit, err = intParam(v, "per_page", defaultPerPage, 1, gown.MaxFindingPage)
	if err != nil {
		return q, 0, err
	}
	q.Offset = (page - 1) * q.Limit
	return q, page, nil
}

// intParam reads an integer parameter within [lo, hi], def when absent.
func intParam(v url.Values, name string, def, lo, hi int) (int, error) {
	s := v.Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, badf("%s %q: want a number from %d to %d", name, s, lo, hi)
	}
	return n, nil
}

func contains[T comparable](l []T, v T) bool {
	for _, x := range l {
		if x == v {
			return true
		}
	}
	return false
}

// apiFindingPage is the body of /api/scans/{id}/findings.
type apiFindingPage struct {
	Scan    gown.ScanID `json:"scan"`
	Page    int         `json:"page"`
	PerPage int         `json:"per_page"`
	Pages   int64       `json:"pages"`
	gown.FindingPage
}

func pageCount(total int64, per int) int64 { return max(1, (total+int64(per)-1)/int64(per)) }

func (s *Server) findingPage(r *http.Request) (apiFindingPage, gown.FindingQuery, error) {
	id, err := s.scanID(r, "id")
	if err != nil {
		return apiFindingPage{}, gown.FindingQuery{}, err
	}
	q, page, err := findingQuery(r.URL.Query())
	if err != nil {
		return apiFindingPage{}, q, err
	}
	if _, err := s.st.Scan(r.Context(), id); err != nil {
		return apiFindingPage{}, q, err
	}
	p, err := s.br.FindingPage(r.Context(), id, q)
	return apiFindingPage{Scan: id, Page: page, PerPage: q.Limit, Pages: pageCount(p.Total, q.Limit), FindingPage: p}, q, err
}

func (s *Server) apiFindings(r *http.Request) (any, error) {
	p, _, err := s.findingPage(r)
	return p, err
}

func (s *Server) apiFinding(r *http.Request) (any, error) {
	id, err := s.scanID(r, "id")
	if err != nil {
		return nil, err
	}
	return s.br.FindingDetail(r.Context(), id, r.PathValue("fid"))
}

// maxScansListed caps the scans a list holds.
const maxScansListed = 1000

func (s *Server) scanList(ctx context.Context) ([]gown.ScanMeta, error) {
	var out []gown.ScanMeta
	errStop := errors.New("stop")
	err := s.st.Scans(ctx, func(m gown.ScanMeta) error {
		if len(out) == maxScansListed {
			return errStop
		}
		out = append(out, m)
		return nil
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	return out, err
}

func (s *Server) apiScans(r *http.Request) (any, error) {
	l, err := s.scanList(r.Context())
	return map[string]any{"scans": l}, err
}

func (s *Server) apiScan(r *http.Request) (any, error) {
	id, err := s.scanID(r, "id")
	if err != nil {
		return nil, err
	}
	return s.br.ScanSummary(r.Context(), id)
}

func (s *Server) trend(r *http.Request) ([]gown.TrendPoint, error) {
	n, err := intParam(r.URL.Query(), "n", defaultTrend, 1, maxTrend)
	if err != nil {
		return nil, err
	}
	return s.br.Trend(r.Context(), n)
}

func (s *Server) apiTrend(r *http.Request) (any, error) {
	t, err := s.trend(r)
	return map[string]any{"scans": t}, err
}

func (s *Server) apiApps(r *http.Request) (any, error) {
	a, err := s.br.Apps(r.Context())
	return map[string]any{"apps": a}, err
}

// diffView is one page of the diff of two scans.
type diffView struct {
	A       gown.ScanID               `json:"a"`
	B       gown.ScanID               `json:"b"`
	Kind    store.DiffKind            `json:"kind,omitempty"`
	Counts  map[store.DiffKind]int    `json:"counts"`
	Total   int                       `json:"total"`
	Page    int                       `json:"page"`
	PerPage int                       `json:"per_page"`
	Pages   int64                     `json:"pages"`
	Entries []store.DiffEntry         `json:"entries"`
	Kinds   []store.DiffKind          `json:"-"`
	Links   map[store.DiffKind]string `json:"-"`
}

// diffKinds is the order kinds are listed in.
var diffKinds = []store.DiffKind{store.DiffNew, store.DiffGrown, store.DiffWiped, store.DiffStillOpen, store.DiffShrunk, store.DiffFixed}

// diffPage streams the diff of scans a and b (store.Diff holds one store
// of each scan at a time), counting every kind and keeping one page of the
// entries of kind (all kinds when empty).
func (s *Server) diffPage(r *http.Request) (diffView, error) {
	v := r.URL.Query()
	d := diffView{Counts: map[store.DiffKind]int{}, Kinds: diffKinds}
	ctx := r.Context()
	var err error
	for i, p := range []struct {
		name string
		dst  *gown.ScanID
	}{{"a", &d.A}, {"b", &d.B}} {
		if v.Get(p.name) != "" {
			if *p.dst, err = s.resolveScan(ctx, v.Get(p.name)); err != nil {
				return d, err
			}
			continue
		}
		// By default: the newest scan against the one before it.
		if *p.dst, err = s.newest(ctx, 1-i); err != nil {
			return d, err
		}
		if *p.dst == 0 {
			return d, errors.Join(errNotFound, errors.New("a diff needs two scans in the store"))
		}
	}
	d.Kind = store.DiffKind(v.Get("kind"))
	if d.Kind != "" && !contains(diffKinds, d.Kind) {
		return d, badf("kind %q: want new, grown, wiped, still-open, shrunk or fixed", d.Kind)
	}
	if d.Page, err = intParam(v, "page", 1, 1, 1<<31); err != nil {
		return d, err
	}
	if d.PerPage, err = intParam(v, "per_page", defaultPerPage, 1, gown.MaxFindingPage); err != nil {
		return d, err
	}
	skip := (d.Page - 1) * d.PerPage
	d.Entries = []store.DiffEntry{}
	err = store.Diff(ctx, s.st, d.A, d.B, func(e store.DiffEntry) error {
		d.Counts[e.Kind]++
		if d.Kind != "" && e.Kind != d.Kind {
			return nil
		}
		if d.Total >= skip && len(d.Entries) < d.PerPage {
			d.Entries = append(d.Entries, e)
		}
		d.Total++
		return nil
	})
	d.Pages = pageCount(int64(d.Total), d.PerPage)
	return d, err
}

func (s *Server) apiDiff(r *http.Request) (any, error) {
	return s.diffPage(r)
}
