package store

import (
	"cmp"
	"context"
	"errors"
	"iter"
	"slices"
	"strings"

	"github.com/gownscan/gown"
)

// errStop ends a walk early without being an error.
var errStop = errors.New("stop")

// DiffKind classifies a finding between two scans.
type DiffKind string

// Diff kinds.
const (
	DiffNew       DiffKind = "new"        // only the second scan has it
	DiffFixed     DiffKind = "fixed"      // only the first scan has it
	DiffStillOpen DiffKind = "still-open" // both (the store's exposure: with the same data at risk)
	DiffGrown     DiffKind = "grown"      // the store's exposure, more items (or bytes) now
	DiffShrunk    DiffKind = "shrunk"     // the store's exposure, fewer items now
	DiffWiped     DiffKind = "wiped"      // the store's exposure: had data, now only a ransom note
)

// DiffEntry is one finding compared across two scans.
type DiffEntry struct {
	Kind DiffKind `json:"kind"`
	// Finding is the second scan's view when it has one, else the first's.
	Finding     gown.Finding `json:"finding"`
	Product     string       `json:"product,omitempty"`
	ItemsBefore uint64       `json:"items_before"`
	ItemsAfter  uint64       `json:"items_after"`
	BytesBefore uint64       `json:"bytes_before"`
	BytesAfter  uint64       `json:"bytes_after"`
	// Notes are the ransom-like names the second scan found, for wiped.
	Notes []string `json:"notes,omitempty"`
}

// Diff compares scan a (before) with scan b (after) and calls fn per finding,
// ordered by host, port and store; within a store its exposure finding
// (open-store or open-store-empty) comes first, then the others, most
// severe first, then by rule, title and finding id. It streams both scans in step, holding one host:port:store group of
// each at a time.
func Diff(ctx context.Context, s gown.Store, a, b gown.ScanID, fn func(DiffEntry) error) error {
	for _, id := range []gown.ScanID{a, b} {
		if _, err := s.Scan(ctx, id); err != nil {
			return err
		}
	}
	ga, stopA := groups(ctx, s, a)
	defer stopA()
	gb, stopB := groups(ctx, s, b)
	defer stopB()
	x, y := ga.next(), gb.next()
	for x != nil || y != nil {
		c := 0
		switch {
		case x == nil:
			c = 1
		case y == nil:
			c = -1
		default:
			c = x.compare(y)
		}
		var err error
		switch {
		case c < 0:
			err = compareGroups(x, nil, fn)
			x = ga.next()
		case c > 0:
			err = compareGroups(nil, y, fn)
			y = gb.next()
		default:
			err = compareGroups(x, y, fn)
			x, y = ga.next(), gb.next()
		}
		if err != nil {
			return err
		}
	}
	return errors.Join(ga.err(), gb.err())
}

// group is the results of one host, port and store in one scan (more than
// one when the name resolved to several addresses), or the standalone
// findings of one subject (an app, an address), which come first.
type group struct {
	standalone bool
	host       string
	port       int
	store      string
	items      []groupItem
}

type groupItem struct {
	r  *gown.Result
	fs []gown.Finding
}

// compare orders groups as Store.Results does: standalone findings first,
// then bytes of host, port, store.
func (g *group) compare(o *group) int {
	return cmp.Or(cmp.Compare(boolInt(o.standalone), boolInt(g.standalone)),
		strings.Compare(g.host, o.host), cmp.Compare(g.port, o.port), strings.Compare(g.store, o.store))
}

// groupOf is the group an item belongs to.
func groupOf(it groupItem) *group {
	if it.r == nil {
		t := gown.Target{}
		if len(it.fs) > 0 {
			t = it.fs[0].Target
		}
		return &group{standalone: true, host: t.Host, port: t.Port}
	}
	return &group{host: it.r.Target.Host, port: it.r.Target.Port, store: it.r.Store}
}

// groupReader turns a scan's result stream into a stream of groups.
type groupReader struct {
	pull    func() (groupItem, bool)
	pending *groupItem
	walkErr error
}

func groups(ctx context.Context, s gown.Store, scan gown.ScanID) (*groupReader, func()) {
	gr := &groupReader{}
	seq := iter.Seq[groupItem](func(yield func(groupItem) bool) {
		err := s.Results(ctx, scan, func(r *gown.Result, fs []gown.Finding) error {
			if !yield(groupItem{r, fs}) {
				return errStop
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStop) {
			gr.walkErr = err
		}
	})
	next, stop := iter.Pull(seq)
	gr.pull = next
	return gr, stop
}

func (gr *groupReader) next() *group {
	var it groupItem
	if gr.pending != nil {
		it, gr.pending = *gr.pending, nil
	} else if v, ok := gr.pull(); ok {
		it = v
	} else {
		return nil
	}
	g := groupOf(it)
	g.items = []groupItem{it}
	for {
		v, ok := gr.pull()
		if !ok {
			return g
		}
		if groupOf(v).compare(g) != 0 {
			gr.pending = &v
			return g
		}
		g.items = append(g.items, v)
	}
}

func (gr *groupReader) err() error { return gr.walkErr }

// sided is a finding with the result it was drawn from (nil for a
// standalone finding).
type sided struct {
	f gown.Finding
	r *gown.Result
}

// product names what answered, when a result says.
func (s sided) product() string {
	if s.r == nil {
		return ""
	}
	return s.r.Product
}

// The rules of a store's own exposure finding (assess.RuleOpen and
// assess.RuleOpenEmpty; rule ids are stable output, and store does not
// import assess). A store that went from holding items to holding none
// changes rule, but it is the same exposure: the diff pairs the two.
const (
	ruleOpen      = "open-store"
	ruleOpenEmpty = "open-store-empty"
	primaryKey    = "open" // no finding id: ids are hex
)

// pairKey is what pairs a finding across two scans within one group.
func pairKey(f gown.Finding) string {
	if f.Rule == ruleOpen || f.Rule == ruleOpenEmpty {
		return primaryKey
	}
	return f.ID
}

func byKey(g *group) map[string]sided {
	m := map[string]sided{}
	if g == nil {
		return m
	}
	for _, it := range g.items {
		for _, f := range it.fs {
			if k := pairKey(f); !has(m, k) {
				m[k] = sided{f, it.r}
			}
		}
	}
	return m
}

// compareGroups compares one host, port and store. The store's exposure
// finding comes first and alone carries how the data changed (grown,
// shrunk, wiped); the other findings of the store (sensitive data, admin
// access, compromise) are new, fixed or still open, so that one store that
// grew is one grown line, not one per finding.
func compareGroups(a, b *group, fn func(DiffEntry) error) error {
	ma, mb := byKey(a), byKey(b)
	var keys []string
	for k := range ma {
		keys = append(keys, k)
	}
	for k := range mb {
		if _, ok := ma[k]; !ok {
			keys = append(keys, k)
		}
	}
	// The exposure first, then the worst, then by rule, title and id:
	// stable, and the order a reader wants.
	rank := func(k string) gown.Finding {
		if f, ok := mb[k]; ok {
			return f.f
		}
		return ma[k].f
	}
	slices.SortFunc(keys, func(x, y string) int {
		fx, fy := rank(x), rank(y)
		return cmp.Or(cmp.Compare(boolInt(y == primaryKey), boolInt(x == primaryKey)),
			cmp.Compare(fy.Severity, fx.Severity), strings.Compare(fx.Rule, fy.Rule), strings.Compare(fx.Title, fy.Title),
			strings.Compare(x, y))
	})
	for _, k := range keys {
		fa, inA := ma[k]
		fb, inB := mb[k]
		if err := fn(classify(fa, inA, fb, inB, k == primaryKey)); err != nil {
			return err
		}
	}
	return nil
}

func has(m map[string]sided, k string) bool {
	_, ok := m[k]
	return ok
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func classify(a sided, inA bool, b sided, inB bool, primary bool) DiffEntry {
	e := DiffEntry{ItemsBefore: a.f.Items, BytesBefore: a.f.Bytes, ItemsAfter: b.f.Items, BytesAfter: b.f.Bytes}
	switch {
	case !inB:
		e.Kind, e.Finding, e.Product = DiffFixed, a.f, a.product()
		return e
	case !inA:
		e.Kind = DiffNew
	default:
		e.Kind = DiffStillOpen
		if !primary || a.r == nil || b.r == nil {
			break
		}
		if notes, ok := wiped(a, b); ok {
			e.Kind, e.Notes = DiffWiped, notes
		} else if c := growth(a.f, b.f); c != 0 {
			e.Kind = map[bool]DiffKind{true: DiffGrown, false: DiffShrunk}[c > 0]
		}
	}
	e.Finding, e.Product = b.f, b.product()
	return e
}

// wiped says a store that held data in the first scan was found wiped in
// the second, and returns where the notes are. Assess's signs decide: a
// "wiped" sign in the second scan and none in the first (a store wiped
// before both scans is still open, not newly wiped). Results stored
// without any assessment (no exposure, no signs: older scans) fall back
// to the ransom-like database names of Wiped.
func wiped(a, b sided) ([]string, bool) {
	if a.f.Items == 0 || hasSign(a.r, SignWiped) {
		return nil, false
	}
	if hasSign(b.r, SignWiped) {
		var notes []string
		for _, kind := range []string{SignRansomNote, SignMeow, SignWiped} {
			for _, s := range b.r.Signs {
				if s.Kind == kind && !slices.Contains(notes, s.Where) {
					notes = append(notes, s.Where)
				}
			}
			if len(notes) > 0 {
				break
			}
		}
		return notes, true
	}
	if b.r.Exposure != nil || len(b.r.Signs) > 0 {
		return nil, false
	}
	return Wiped(a.f.Items, b.r.Inventory)
}

// Sign kinds the diff reads (assess.SignWiped and its kin).
const (
	SignWiped      = "wiped"
	SignRansomNote = "ransom-note"
	SignMeow       = "meow"
)

func hasSign(r *gown.Result, kind string) bool {
	return r != nil && slices.ContainsFunc(r.Signs, func(s gown.Sign) bool { return s.Kind == kind })
}

// growth compares the data at risk by items. Bytes decide only when neither
// side counted items, and only beyond 10%: sizes such as Redis used_memory
// drift between two scans of unchanged data.
func growth(a, b gown.Finding) int {
	if a.Items == 0 && b.Items == 0 {
		lo, hi := min(a.Bytes, b.Bytes), max(a.Bytes, b.Bytes)
		if hi-lo <= hi/10 {
			return 0
		}
		return cmp.Compare(b.Bytes, a.Bytes)
	}
	return cmp.Compare(b.Items, a.Items)
}
