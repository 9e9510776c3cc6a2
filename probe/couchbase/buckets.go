package couchbase

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"

	"github.com/gownscan/gown"
)

var errNotArray = errors.New("not a JSON array")

// readBuckets decodes the bucket list one entry at a time, so that at most
// maxBuckets entries are held. It returns nil when the body is not an array;
// an error after some buckets keeps them and marks the inventory truncated.
func readBuckets(body []byte, cut bool) (*gown.Inventory, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil, errNotArray
	}
	inv := &gown.Inventory{Truncated: cut}
	for dec.More() {
		if len(inv.Databases) == maxBuckets {
			inv.Truncated = true
			return inv, nil
		}
		var b bucket
		if err := dec.Decode(&b); err != nil {
			inv.Truncated = true
			return inv, err
		}
		inv.Add(gown.Database{
			Name:  b.Name,
			Items: count(b.BasicStats.ItemCount),
			Bytes: count(b.BasicStats.DiskUsed),
		})
	}
	if _, err := dec.Token(); err != nil {
		inv.Truncated = true
		return inv, err
	}
	return inv, nil
}

// count turns a reported figure into a count: Couchbase sends integers,
// some versions as floats; a negative or absent figure is 0 and a huge one
// saturates rather than wrapping.
func count(n json.Number) uint64 {
	if u, err := strconv.ParseUint(n.String(), 10, 64); err == nil {
		return u
	}
	f, err := n.Float64()
	switch {
	case err != nil || f <= 0 || math.IsNaN(f):
		return 0
	case f >= math.MaxUint64:
		return math.MaxUint64
	}
	return uint64(f)
}
