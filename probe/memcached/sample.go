package memcached

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
	"github.com/gownscan/gown/probe/flatten"
)

// Sampling needs key names, which memcached gives only through the LRU
// crawler (1.4.31 and later, on by default since 1.5). It sends, in the
// text protocol and only to a server the probe found open over text:
//
//	lru_crawler metadump all       one connection: key names and sizes, read
//	                               up to maxMetaLines lines, then the
//	                               connection is dropped
//	get k1 k2 ...                  a second connection: at most K keys per
//	                               key prefix (the part before the first ':'),
//	                               only keys metadump says are at most
//	                               maxSampleValue bytes, lines under 1 KiB
//
// A server without the crawler (ERROR, CLIENT_ERROR, BUSY) gives nothing to
// sample: gown does not fall back to stats cachedump, which the probe's
// verdict does not use and which 1.6 limits anyway. A value that is JSON
// is flattened into fields; any other is one field "value".
const (
	cmdMetadump    = "lru_crawler metadump all\r\n"
	maxMetaLines   = 5000
	maxSampleValue = 8 << 10
	maxGetLine     = 1000
	maxKey         = 250 // memcached's own key limit
)

var _ probe.Sampler = (*Prober)(nil)

// Sample reads a few keys of each key prefix.
func (p *Prober) Sample(ctx context.Context, t gown.Target, d probe.Dialer, r *gown.Result, lim probe.SampleLimits, emit func(gown.Sample) error) error {
	if r.Details["binding_protocol"] == "binary" || r.Inventory == nil || r.Inventory.Items == 0 {
		return nil // a binary-only server has no crawler commands
	}
	keys, err := metadump(ctx, t, d, lim)
	if err != nil || len(keys) == 0 {
		return err
	}
	a := dial(ctx, t, d, func(s *session) (*gown.Result, error) { return nil, s.getKeys(keys, emit) })
	if errors.Is(a.err, probe.ErrSampleFull) {
		return nil
	}
	return a.err
}

// metadump lists keys to read: at most K per prefix, prefixes up to one
// past the collection cap (so that a cache with more shows as truncated),
// values no bigger than maxSampleValue. A crawler that refuses is no error.
func metadump(ctx context.Context, t gown.Target, d probe.Dialer, lim probe.SampleLimits) ([]string, error) {
	var keys []string
	a := dial(ctx, t, d, func(s *session) (*gown.Result, error) {
		if err := s.send("lru_crawler metadump", cmdMetadump); err != nil {
			return nil, err
		}
		perPrefix := map[string]int{}
		for range maxMetaLines {
			line, err := readLine(s.br)
			if err != nil {
				return nil, s.wrap("lru_crawler metadump", err)
			}
			if bytes.Equal(line, []byte("END")) || !bytes.HasPrefix(line, []byte("key=")) {
				return nil, nil // the end, or ERROR, CLIENT_ERROR, BUSY: no crawler
			}
			key, size, ok := parseMeta(line)
			if !ok || size > maxSampleValue {
				continue
			}
			p := prefix(key)
			if _, seen := perPrefix[p]; !seen && len(perPrefix) > lim.Collections {
				continue
			}
			if perPrefix[p] < lim.PerCollection {
				perPrefix[p]++
				keys = append(keys, key)
			}
			if len(perPrefix) > lim.Collections && full(perPrefix, lim.PerCollection) {
				return nil, nil // enough: the rest of the dump is dropped with the connection
			}
		}
		return nil, nil
	})
	return keys, a.err
}

// full reports whether every prefix has k keys.
func full(perPrefix map[string]int, k int) bool {
	for _, n := range perPrefix {
		if n < k {
			return false
		}
	}
	return true
}

// parseMeta reads "key=<url-escaped> exp=-1 la=... cas=... fetch=no cls=1
// size=63" (at most maxLine bytes: a 250-byte key escaped is 750). The key
// must be one memcached accepts in a get: printable, without spaces, at
// most 250 bytes.
func parseMeta(line []byte) (key string, size int, ok bool) {
	fields := strings.Fields(string(line))
	size = -1
	for _, f := range fields {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "key":
			var err error
			if key, err = url.QueryUnescape(v); err != nil {
				return "", 0, false
			}
		case "size":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return "", 0, false
			}
			size = n
		}
	}
	if key == "" || len(key) > maxKey || !printable([]byte(key)) || strings.ContainsRune(key, ' ') || size < 0 {
		return "", 0, false
	}
	return key, size, true
}

// prefix is a key's collection: the part before the first ':' ("" without
// one).
func prefix(key string) string {
	p, _, found := strings.Cut(key, ":")
	if !found {
		return ""
	}
	return p
}

// getKeys reads keys with multi-key gets of lines under maxGetLine bytes.
func (s *session) getKeys(keys []string, emit func(gown.Sample) error) error {
	for len(keys) > 0 {
		n, line := 0, "get"
		for n < len(keys) && len(line)+1+len(keys[n])+2 <= maxGetLine {
			line += " " + keys[n]
			n++
		}
		if err := s.send("get", line+"\r\n"); err != nil {
			return err
		}
		if err := s.readValues(emit); err != nil {
			return err
		}
		keys = keys[n:]
	}
	return nil
}

// readValues reads VALUE blocks up to END. A value announced larger than
// maxSampleValue (it grew since metadump) ends sampling: skipping it would
// mean reading it.
func (s *session) readValues(emit func(gown.Sample) error) error {
	for {
		line, err := readLine(s.br)
		if err != nil {
			return s.wrap("get", err)
		}
		if bytes.Equal(line, []byte("END")) {
			return nil
		}
		f := strings.Fields(string(line))
		if len(f) < 4 || f[0] != "VALUE" {
			if ref := parseRefusal(line); ref != nil {
				return nil // the server refused the get: nothing more to read
			}
			return s.wrap("get", fmt.Errorf("line %q in a get reply: %w", head(line), gown.ErrProtocol))
		}
		key := f[1]
		n, err := strconv.Atoi(f[3])
		if err != nil || n < 0 || n > maxSampleValue {
			return s.wrap("get", fmt.Errorf("value of %q bytes (cap %d): %w", f[3], maxSampleValue, gown.ErrReplyTooLarge))
		}
		data := make([]byte, n+2)
		if _, err := io.ReadFull(s.br, data); err != nil {
			return s.wrap("get", err)
		}
		if err := emit(gown.Sample{Database: "cache", Collection: prefix(key), Key: key, Fields: flatten.Body(data[:n])}); err != nil {
			return err
		}
	}
}
