package report

import (
	"container/heap"
	"sort"

	"github.com/gownscan/gown"
)

// MaxRows caps the findings kept for the table of an HTML or Markdown report.
// Beyond it the least severe rows are dropped (and counted in the report), so
// memory stays bounded however large the scan; the summary still counts all.
const MaxRows = 10000

// maxHosts caps the distinct hosts counted exactly; past it the report says
// "at least".
const maxHosts = 1 << 20

// Summary is what a report says about a whole scan, in the research's terms:
// services answered → open stores → records and bytes exposed.
type Summary struct {
	// Apps counts the apps with findings in their own code (hard-coded
	// credentials, clear-text transport), AppFindings those findings.
	Apps, AppFindings int
	Services          int // results whose service answered
	Hosts             int // distinct hosts among them
	HostsCapped       bool
	Open              int
	Items             uint64 // records held by open stores
	Bytes             uint64 // bytes held by open stores
	ByStatus          map[gown.Status]int
	ByStore           map[string]*StoreCount
	BySeverity        [gown.SeverityCritical + 1]int
	Findings          int
	// Assessed is set once a result carries an exposure or signs: sampling
	// and compromise checks were part of the scan.
	Assessed bool
	// Sensitive counts open stores holding sensitive classes; Sampled the
	// records read from them; ByClass, per class, the stores holding it and
	// the sampled records that do.
	Sensitive int
	Sampled   uint64
	ByClass   map[string]*ClassCount
	// Compromised counts stores with a compromise sign, ByKind the stores
	// per sign kind; Honeypots the stores that may be staged.
	Compromised int
	ByKind      map[string]int
	Honeypots   int
	hosts       map[string]struct{}
}

// ClassCount counts one sensitive-data class over a scan.
type ClassCount struct {
	Stores, Records int
}

// StoreCount counts one store kind's services.
type StoreCount struct {
	Services, Open int
	Items, Bytes   uint64
}

func newSummary() *Summary {
	return &Summary{ByStatus: map[gown.Status]int{}, ByStore: map[string]*StoreCount{}, ByClass: map[string]*ClassCount{},
		ByKind: map[string]int{}, hosts: map[string]struct{}{}}
}

// add counts one result and its findings; a nil result is standalone
// findings, counted by their subject.
func (s *Summary) add(r *gown.Result, fs []gown.Finding) {
	for _, f := range fs {
		if f.Severity >= 0 && f.Severity <= gown.SeverityCritical {
			s.BySeverity[f.Severity]++
		}
		s.Findings++
	}
	if r == nil {
		if len(fs) > 0 && fs[0].Target.Origin == "app" {
			s.Apps++
			s.AppFindings += len(fs)
		}
		return
	}
	if !r.Status.Answered() {
		s.ByStatus[r.Status]++
		return
	}
	s.Services++
	s.ByStatus[r.Status]++
	if _, ok := s.hosts[r.Target.Host]; !ok {
		if len(s.hosts) < maxHosts {
			s.hosts[r.Target.Host] = struct{}{}
			s.Hosts++
		} else {
			s.HostsCapped = true
		}
	}
	store := r.Store
	if store == "" {
		store = "unidentified"
	}
	sc := s.ByStore[store]
	if sc == nil {
		sc = &StoreCount{}
		s.ByStore[store] = sc
	}
	sc.Services++
	if r.Status == gown.StatusOpen {
		s.Open++
		sc.Open++
		if r.Inventory != nil {
			s.Items, s.Bytes = addSat(s.Items, r.Inventory.Items), addSat(s.Bytes, r.Inventory.Bytes)
			sc.Items, sc.Bytes = addSat(sc.Items, r.Inventory.Items), addSat(sc.Bytes, r.Inventory.Bytes)
		}
	}
	s.addExposure(r, fs)
}

// addExposure counts what sampling and the compromise checks said.
func (s *Summary) addExposure(r *gown.Result, fs []gown.Finding) {
	if r.Exposure != nil || r.Signs != nil {
		s.Assessed = true
	}
	if e := r.Exposure; e != nil {
		s.Sampled = addSat(s.Sampled, uint64(max(e.Sampled, 0)))
		perClass := map[string]int{}
		for _, c := range e.Classes {
			perClass[c.Class] += c.Records
		}
		for class, n := range perClass {
			cc := s.ByClass[class]
			if cc == nil {
				if len(s.ByClass) >= maxClasses {
					continue
				}
				cc = &ClassCount{}
				s.ByClass[class] = cc
			}
			cc.Stores++
			cc.Records += n
		}
	}
	if sensitive(resultClasses(r, fs)) {
		s.Sensitive++
	}
	kinds, honeypot := compromiseKinds(r)
	if len(kinds) > 0 {
		s.Compromised++
	}
	for _, k := range kinds {
		if _, ok := s.ByKind[k]; ok || len(s.ByKind) < maxClasses {
			s.ByKind[k]++
		}
	}
	if honeypot {
		s.Honeypots++
	}
}

// maxClasses caps the distinct class and sign-kind names a summary counts:
// a hostile results file must not grow them without bound.
const maxClasses = 64

// ClassNames lists the classes seen, held by the most stores first.
func (s *Summary) ClassNames() []string {
	names := make([]string, 0, len(s.ByClass))
	for n := range s.ByClass {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := s.ByClass[names[i]], s.ByClass[names[j]]
		if a.Stores != b.Stores {
			return a.Stores > b.Stores
		}
		if a.Records != b.Records {
			return a.Records > b.Records
		}
		return names[i] < names[j]
	})
	return names
}

// KindNames lists the compromise sign kinds seen, sorted.
func (s *Summary) KindNames() []string {
	names := make([]string, 0, len(s.ByKind))
	for n := range s.ByKind {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// StoreNames lists the store kinds seen, most open first, then by name.
func (s *Summary) StoreNames() []string {
	names := make([]string, 0, len(s.ByStore))
	for n := range s.ByStore {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := s.ByStore[names[i]], s.ByStore[names[j]]
		if a.Open != b.Open {
			return a.Open > b.Open
		}
		if a.Services != b.Services {
			return a.Services > b.Services
		}
		return names[i] < names[j]
	})
	return names
}

// addSat adds without wrapping: a hostile server announcing huge counts must
// not turn a total small.
func addSat(a, b uint64) uint64 {
	if a+b < a {
		return ^uint64(0)
	}
	return a + b
}

// row is one finding with the parts of its result a table shows.
type row struct {
	seq int
	f   gown.Finding
	r   *gown.Result // a copy trimmed by trimResult
}

// rowHeap keeps the MaxRows most severe rows: its root is the row to drop
// first (least severe, then latest seen).
type rowHeap []row

func (h rowHeap) Len() int { return len(h) }
func (h rowHeap) Less(i, j int) bool {
	if h[i].f.Severity != h[j].f.Severity {
		return h[i].f.Severity < h[j].f.Severity
	}
	return h[i].seq > h[j].seq
}
func (h rowHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *rowHeap) Push(x any)   { *h = append(*h, x.(row)) }
func (h *rowHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// rows collects at most max rows, keeping the most severe.
type rows struct {
	max     int
	seq     int
	h       rowHeap
	dropped int
}

// Limits on what a kept row holds of its result, so MaxRows bounds memory.
const (
	rowEvidence  = 8
	rowDatabases = 12
	rowClasses   = 24
	rowSigns     = 8
)

func (rs *rows) add(r *gown.Result, f gown.Finding) {
	if r == nil {
		r = subject([]gown.Finding{f})
	}
	rs.seq++
	nr := row{seq: rs.seq, f: f}
	if len(rs.h) >= rs.max {
		if rs.max == 0 || rs.h[0].f.Severity >= f.Severity {
			rs.dropped++
			return
		}
		heap.Pop(&rs.h)
		rs.dropped++
	}
	nr.r = trimResult(r)
	heap.Push(&rs.h, nr)
}

// sorted returns the kept rows, most severe first, then in arrival order.
func (rs *rows) sorted() []row {
	out := append([]row(nil), rs.h...)
	sort.Slice(out, func(i, j int) bool {
		if out[i].f.Severity != out[j].f.Severity {
			return out[i].f.Severity > out[j].f.Severity
		}
		return out[i].seq < out[j].seq
	})
	return out
}

// trimResult copies what a row shows of a result, capping its evidence and
// databases.
func trimResult(r *gown.Result) *gown.Result {
	c := *r
	c.Details = nil
	if len(c.Evidence) > rowEvidence {
		c.Evidence = c.Evidence[:rowEvidence]
	}
	c.Evidence = append([]gown.Evidence(nil), c.Evidence...)
	if r.Inventory != nil {
		inv := *r.Inventory
		var dbs []gown.Database
		for _, d := range inv.Databases {
			switch {
			case d.System:
			case len(dbs) < rowDatabases:
				dbs = append(dbs, d)
			default:
				inv.Truncated = true // the row says the listing is cut
			}
		}
		inv.Databases = dbs
		c.Inventory = &inv
	}
	if r.Exposure != nil {
		e := *r.Exposure
		e.Classes = append([]gown.ClassCount(nil), e.Classes[:min(len(e.Classes), rowClasses)]...)
		c.Exposure = &e
	}
	c.Signs = append([]gown.Sign(nil), r.Signs[:min(len(r.Signs), rowSigns)]...)
	return &c
}
