package store

import (
	"context"
	"hash/maphash"
	"slices"

	"github.com/gownscan/gown"
)

// DoneSet is the set of targets a scan already finished, for resume. It keeps
// a sorted 64-bit hash per target instead of the keys: 8 bytes a target, so
// ten million finished targets cost 80 MB rather than a gigabyte of strings.
// A hash collision (odds about n²/2⁶⁵) would skip one unfinished target.
type DoneSet struct {
	seed   maphash.Seed
	hashes []uint64
}

// LoadDone streams the scan's finished targets into a DoneSet.
func LoadDone(ctx context.Context, s gown.Store, scan gown.ScanID) (*DoneSet, error) {
	d := &DoneSet{seed: maphash.MakeSeed()}
	err := s.DoneTargets(ctx, scan, func(key string) error {
		d.hashes = append(d.hashes, maphash.String(d.seed, key))
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(d.hashes)
	// A target two workers both finished is walked twice.
	d.hashes = slices.Clip(slices.Compact(d.hashes))
	return d, nil
}

// Len is how many targets the set holds.
func (d *DoneSet) Len() int { return len(d.hashes) }

// Has reports whether the scan finished t.
func (d *DoneSet) Has(t gown.Target) bool {
	_, ok := slices.BinarySearch(d.hashes, maphash.String(d.seed, gown.TargetKey(t)))
	return ok
}

// Latest returns the newest scan of gown scan's not marked done (running or
// interrupted), the one `gown scan --resume` continues without an id. Scans
// of other commands (gown app) keep no arguments a resume could replay.
func Latest(ctx context.Context, s gown.Store) (gown.ScanMeta, bool, error) {
	var found gown.ScanMeta
	ok := false
	err := s.Scans(ctx, func(m gown.ScanMeta) error {
		if m.State != gown.ScanDone && (m.Command == "" || m.Command == "scan") {
			found, ok = m, true
			return errStop
		}
		return nil
	})
	if err == errStop {
		err = nil
	}
	return found, ok, err
}
