package firebase

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Caps on what a reply can make gown count and keep.
const (
	maxKeys   = 1000 // top-level keys counted
	maxListed = 100  // top-level keys kept as inventory entries
)

// Root kinds: what the database root held.
const (
	kindObject = "object"
	kindArray  = "array" // Firebase turns objects with integer keys into arrays
	kindNull   = "null"  // an empty database
	kindValue  = "value" // a single string, number or boolean
)

// tree is what a GET of the root showed, counted as it streamed by so that
// a large reply costs no more memory than its keys.
type tree struct {
	kind  string
	count int       // top-level keys (array elements) counted, at most maxKeys
	keys  []keyInfo // the first maxListed of them
	more  bool      // counting stopped early: the cap, or a cut body
}

// keyInfo is one top-level key. With shallow=true Firebase sends true for
// every object below the root, so children is known only from a server that
// sends the whole subtree; -1 marks a scalar.
type keyInfo struct {
	name     string
	children int
}

var errNotJSON = errors.New("the body is not JSON")

// readTree counts the top-level keys of a JSON reply. An error after the
// root was recognised leaves the keys counted so far, with more set.
func readTree(body []byte) (tree, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // numbers are skipped, never converted
	tok, err := dec.Token()
	if err != nil {
		return tree{}, fmt.Errorf("%w: %w", errNotJSON, err)
	}
	var tr tree
	switch tok {
	case json.Delim('{'):
		tr.kind = kindObject
	case json.Delim('['):
		tr.kind = kindArray
	case nil:
		tr.kind = kindNull
		return tr, trailing(dec)
	default:
		tr.kind = kindValue
		return tr, trailing(dec)
	}
	for dec.More() {
		if tr.count == maxKeys {
			tr.more = true
			return tr, nil
		}
		name := fmt.Sprint(tr.count)
		if tr.kind == kindObject {
			if tok, err = dec.Token(); err != nil {
				tr.more = true
				return tr, err
			}
			name, _ = tok.(string)
		}
		n, err := children(dec)
		if err != nil {
			tr.more = true
			return tr, err
		}
		tr.count++
		if len(tr.keys) < maxListed {
			tr.keys = append(tr.keys, keyInfo{name: name, children: n})
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		tr.more = true
		return tr, err
	}
	return tr, trailing(dec)
}

// trailing fails when anything but space follows the root value: such a body
// is not one JSON document and so not a Firebase reply.
func trailing(dec *json.Decoder) error {
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: data after the root value", errNotJSON)
	}
	return nil
}

// children skips one value and returns how many members it has, or -1 for
// a scalar.
func children(dec *json.Decoder) (int, error) {
	tok, err := dec.Token()
	if err != nil {
		return 0, err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return -1, nil
	}
	n := 0
	for dec.More() {
		if d == '{' {
			if _, err := dec.Token(); err != nil { // the member's name
				return n, err
			}
		}
		if err := skip(dec); err != nil {
			return n, err
		}
		n++
	}
	_, err = dec.Token() // the closing delimiter
	return n, err
}

// skip reads past one value, however deep, without recursion.
func skip(dec *json.Decoder) error {
	depth := 0
	for {
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
		if depth == 0 {
			return nil
		}
	}
}
