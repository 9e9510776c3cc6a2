// Package flatten turns the records samplers read (JSON documents, decoded
// BSON) into gown.Fields: one per leaf, named by its path ("user.address.city",
// "tags.0"). Depth, field count and value length are capped: a hostile
// document cannot make a sample large.
package flatten

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"

	"github.com/gownscan/gown"
)

// Caps on one record.
const (
	MaxDepth  = 16   // nesting below which values are not read
	MaxFields = 256  // leaves kept per record
	MaxValue  = 4096 // bytes kept of one value
)

// JSON flattens one JSON value. A top-level scalar becomes a field named
// prefix (or "value" when prefix is empty). Bad JSON is an error; a
// document over the caps is cut, not refused.
func JSON(prefix string, b []byte) ([]gown.Field, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("flatten: %w", err)
	}
	return Value(prefix, v), nil
}

// Value flattens a decoded value: maps (keys sorted, for stable output),
// slices, and scalars (strings, json.Number, numbers, booleans, nil).
func Value(prefix string, v any) []gown.Field {
	f := &flattener{}
	if prefix == "" {
		if _, scalar := leaf(v); scalar {
			prefix = "value"
		}
	}
	f.walk(prefix, v, 0)
	return f.out
}

type flattener struct{ out []gown.Field }

func (f *flattener) walk(path string, v any, depth int) {
	if len(f.out) >= MaxFields || depth > MaxDepth {
		return
	}
	if s, ok := leaf(v); ok {
		f.out = append(f.out, gown.Field{Path: path, Value: clip(s)})
		return
	}
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			f.walk(join(path, k), x[k], depth+1)
		}
	case []any:
		for i, e := range x {
			if len(f.out) >= MaxFields {
				return
			}
			f.walk(join(path, strconv.Itoa(i)), e, depth+1)
		}
	default:
		f.out = append(f.out, gown.Field{Path: path, Value: clip(fmt.Sprint(x))})
	}
}

// leaf renders scalars; ok is false for maps and slices.
func leaf(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", true
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case int, int32, int64, uint32, uint64:
		return fmt.Sprint(x), true
	}
	return "", false
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func clip(s string) string {
	if len(s) > MaxValue {
		return s[:MaxValue]
	}
	return s
}

// Body is a record read whole as text (an object, a blob, a message): a
// JSON object or array flattened, anything else one field "value" cut to
// MaxValue.
func Body(v []byte) []gown.Field {
	if t := bytes.TrimSpace(v); len(t) > 0 && (t[0] == '{' || t[0] == '[') {
		if fs, err := JSON("", t); err == nil && len(fs) > 0 {
			return fs
		}
	}
	if len(v) > MaxValue {
		v = v[:MaxValue]
	}
	return []gown.Field{{Path: "value", Value: string(v)}}
}
