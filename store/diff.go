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
	DiffStillOpen DiffKind = "still-open" // both, same data at risk
	DiffGrown     DiffKind = "grown"      // both, more items (or bytes) now
	DiffShrunk    DiffKind = "shrunk"     // both, fewer items now
	DiffWiped     DiffKind = "wiped"      // had data; now (almost) only a ransom note
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
// ordered by host, port and store, then finding id. It streams both scans in
// step, holding one host:port:store group of each at a time.
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
// one when the name resolved to several addresses).
type group struct {
	host  string
	port  int
	store string
	items []groupItem
}

type groupItem struct {
	r  *gown.Result
	fs []gown.Finding
}

// compare orders groups as Store.Results does: bytes of host, port, store.
func (g *group) compare(o *group) int {
	return cmp.Or(strings.Compare(g.host, o.host), cmp.Compare(g.port, o.port), strings.Compare(g.store, o.store))
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
	g := &group{host: it.r.Target.Host, port: it.r.Target.Port, store: it.r.Store, items: []groupItem{it}}
	for {
		v, ok := gr.pull()
		if !ok {
			return g
		}
		if v.r.Target.Host != g.host || v.r.Target.Port != g.port || v.r.Store != g.store {
			gr.pending = &v
			return g
		}
		g.items = append(g.items, v)
	}
}

func (gr *groupReader) err() error { return gr.walkErr }

// sided is a finding with the result it was drawn from.
type sided struct {
	f gown.Finding
	r *gown.Result
}

func byID(g *group) map[string]sided {
	m := map[string]sided{}
	if g == nil {
		return m
	}
	for _, it := range g.items {
		for _, f := range it.fs {
			if _, ok := m[f.ID]; !ok {
				m[f.ID] = sided{f, it.r}
			}
		}
	}
	return m
}

func compareGroups(a, b *group, fn func(DiffEntry) error) error {
	ma, mb := byID(a), byID(b)
	var ids []string
	for id := range ma {
		ids = append(ids, id)
	}
	for id := range mb {
		if _, ok := ma[id]; !ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		fa, inA := ma[id]
		fb, inB := mb[id]
		if err := fn(classify(fa, inA, fb, inB)); err != nil {
			return err
		}
	}
	return nil
}

func classify(a sided, inA bool, b sided, inB bool) DiffEntry {
	e := DiffEntry{ItemsBefore: a.f.Items, BytesBefore: a.f.Bytes, ItemsAfter: b.f.Items, BytesAfter: b.f.Bytes}
	switch {
	case !inB:
		e.Kind, e.Finding, e.Product = DiffFixed, a.f, a.r.Product
		return e
	case !inA:
		e.Kind = DiffNew
	default:
		e.Kind = DiffStillOpen
		if notes, ok := Wiped(a.f.Items, b.r.Inventory); ok {
			e.Kind, e.Notes = DiffWiped, notes
		} else if notes := wipedSigns(b.r); a.f.Items > 0 && len(notes) > 0 {
			e.Kind, e.Notes = DiffWiped, notes
		} else if c := growth(a.f, b.f); c != 0 {
			e.Kind = map[bool]DiffKind{true: DiffGrown, false: DiffShrunk}[c > 0]
		}
	}
	e.Finding, e.Product = b.f, b.r.Product
	return e
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

// wipedSigns returns where assess saw the store wiped ("wiped" signs: the
// store holds nothing but a ransom note); the names stay as assess masked
// them.
func wipedSigns(r *gown.Result) []string {
	if r == nil {
		return nil
	}
	var out []string
	for _, s := range r.Signs {
		if s.Kind == "wiped" {
			out = append(out, s.Where)
		}
	}
	return out
}
