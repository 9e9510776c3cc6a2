package firebase

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
	"github.com/gownscan/gown/probe/flatten"
)

// Sampling sends, each on its own connection and over the transport the
// probe used, the root's keys again (the inventory keeps them redacted),
// then one bounded read per top-level key, the key escaped as one path
// segment:
//
//	GET /.json?shallow=true
//	GET /{key}.json?orderBy=%22%24key%22&limitToFirst=K
//
// orderBy "$key" needs no index rule, and limitToFirst makes Firebase send
// only the first K children of the key. Each child is one record: its name
// is the key, an object child is flattened into fields, a scalar child is
// one field named after it. A top-level key holding a scalar (a note left
// at the root) is one record of its own. The top-level key is the record's
// database, as in the inventory. Only the first K children are decoded
// even from a server that ignores limitToFirst; bodies are capped at
// httpget.MaxBody.

var _ probe.Sampler = (*Prober)(nil)

// childPath is the request for the first k children of a top-level key.
func childPath(key string, k int) string {
	return "/" + url.PathEscape(key) + ".json?orderBy=%22%24key%22&limitToFirst=" + strconv.Itoa(k)
}

// Sample reads the first few children of each top-level key.
func (p *Prober) Sample(ctx context.Context, t gown.Target, d probe.Dialer, r *gown.Result, lim probe.SampleLimits, emit func(gown.Sample) error) error {
	useTLS := r.TLS.Mode == gown.TLSRequired
	x, err := get(ctx, t, d, useTLS, rootPath)
	if err != nil {
		return fmt.Errorf("firebase GET %s on %s: %w", rootPath, t, err)
	}
	if x.Reply.Status != http.StatusOK {
		return nil // the rules changed since the probe: nothing to read
	}
	tr, _ := readTree(x.Reply.Body)
	if tr.kind == kindValue {
		// The root is one scalar, which shallow already sent whole.
		return stop(emit(gown.Sample{Fields: flatten.Value("", decodeValue(x.Reply.Body))}))
	}
	for i, k := range tr.keys {
		// One past the cap, so that a database with more keys shows as
		// truncated.
		if i > lim.Collections {
			break
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		path := childPath(k.name, lim.PerCollection)
		x, err := get(ctx, t, d, useTLS, path)
		if err != nil {
			return fmt.Errorf("firebase GET %s on %s: %w", path, t, err)
		}
		if x.Reply.Status != http.StatusOK {
			continue // rules that deny this key only
		}
		for _, s := range records(k.name, x.Reply.Body, lim.PerCollection) {
			if err := emit(s); err != nil {
				return stop(err)
			}
		}
	}
	return nil
}

// stop turns the cap's signal into a quiet end.
func stop(err error) error {
	if errors.Is(err, probe.ErrSampleFull) {
		return nil
	}
	return err
}

// records decodes at most k children of a key's reply, in the order sent,
// skipping the rest unread. A reply that is a scalar is one record; a reply
// that is not JSON (or breaks off at the body cap) gives what was decoded
// before the break.
func records(key string, body []byte, k int) []gown.Sample {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil
	}
	d, isDelim := tok.(json.Delim)
	if !isDelim {
		if tok == nil {
			return nil // null: the key went away
		}
		return []gown.Sample{{Database: key, Key: key, Fields: flatten.Value(key, tok)}}
	}
	var out []gown.Sample
	for i := 0; dec.More(); i++ {
		name := strconv.Itoa(i)
		if d == '{' {
			t, err := dec.Token()
			if err != nil {
				return out
			}
			name, _ = t.(string)
		}
		if len(out) == k {
			if skip(dec) != nil {
				return out
			}
			continue
		}
		v, err := decodeBounded(dec)
		if err != nil {
			return out
		}
		prefix := name // a scalar child is one field named after it
		switch v.(type) {
		case map[string]any, []any:
			prefix = ""
		}
		out = append(out, gown.Sample{Database: key, Key: name, Fields: flatten.Value(prefix, v)})
	}
	return out
}

// decodeBounded decodes one value; nesting deeper than flatten reads is
// skipped rather than held, so a hostile reply cannot make a deep tree.
func decodeBounded(dec *json.Decoder) (any, error) {
	return decodeDepth(dec, 0)
}

func decodeDepth(dec *json.Decoder, depth int) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return tok, nil
	}
	if depth > flatten.MaxDepth {
		return nil, skipRest(dec)
	}
	if d == '[' {
		var arr []any
		for dec.More() {
			v, err := decodeDepth(dec, depth+1)
			if err != nil {
				return nil, err
			}
			if len(arr) < flatten.MaxFields {
				arr = append(arr, v)
			}
		}
		_, err := dec.Token()
		return arr, err
	}
	m := map[string]any{}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, err
		}
		v, err := decodeDepth(dec, depth+1)
		if err != nil {
			return nil, err
		}
		if k, _ := kt.(string); len(m) < flatten.MaxFields {
			m[k] = v
		}
	}
	_, err = dec.Token()
	return m, err
}

// skipRest reads past the rest of a value whose opening delimiter was
// already read.
func skipRest(dec *json.Decoder) error {
	for depth := 1; depth > 0; {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
	return nil
}

// decodeValue decodes a whole small body, nil when it is not JSON.
func decodeValue(b []byte) any {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := decodeBounded(dec)
	if err != nil {
		return nil
	}
	return v
}
