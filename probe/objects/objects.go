// Package objects is what the object-storage probers (s3, gcs, azblob)
// share: a listing's objects grouped by their first name segment into an
// inventory (the segment is the database a report shows), and the pick of
// the small objects sampling reads, K per segment.
package objects

import (
	"slices"
	"strings"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
)

// Prefix is the database an object is counted in: its name's first
// segment ("users/u1.json" is in "users"), or "/" for a name that starts
// with a slash.
func Prefix(name string) string {
	first, _, _ := strings.Cut(name, "/")
	if first == "" {
		return "/"
	}
	return first
}

// Tally groups listed objects by Prefix. The zero value is ready to use.
type Tally struct {
	per map[string]*[2]uint64 // items, bytes
}

// Add counts one object of size bytes.
func (t *Tally) Add(name string, size uint64) {
	if t.per == nil {
		t.per = map[string]*[2]uint64{}
	}
	db := Prefix(name)
	c := t.per[db]
	if c == nil {
		c = &[2]uint64{}
		t.per[db] = c
	}
	c[0]++
	c[1] += size
}

// Inventory is the tally as databases sorted by name; truncated says the
// listing was cut.
func (t *Tally) Inventory(truncated bool) *gown.Inventory {
	names := make([]string, 0, len(t.per))
	for n := range t.per {
		names = append(names, n)
	}
	slices.Sort(names)
	inv := &gown.Inventory{Truncated: truncated}
	for _, n := range names {
		inv.Add(gown.Database{Name: n, Items: t.per[n][0], Bytes: t.per[n][1]})
	}
	return inv
}

// Pick chooses the objects sampling reads from a listing: at most
// PerCollection per Prefix, in at most Collections prefixes.
type Pick struct {
	lim probe.SampleLimits
	per map[string]int
}

// NewPick returns a pick within lim.
func NewPick(lim probe.SampleLimits) *Pick {
	return &Pick{lim: lim, per: map[string]int{}}
}

// Take reports whether the object called name is read, and counts it if
// so. Callers check size and kind first, so that an object left alone
// uses no room.
func (p *Pick) Take(name string) bool {
	db := Prefix(name)
	n, seen := p.per[db]
	if n >= p.lim.PerCollection || (!seen && len(p.per) >= p.lim.Collections) {
		return false
	}
	p.per[db] = n + 1
	return true
}
