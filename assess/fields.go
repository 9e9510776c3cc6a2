package assess

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gownscan/gown"
)

// field is one leaf of a record as the detectors see it: its path, its value
// and the words of its name.
type field struct {
	path  string // as sampled, "user.phones.0"
	value string
	// leaf is the words of the last named segment, parent those of the one
	// before, both written "_w1_w2_" so that a pattern can match whole
	// words: "user.phoneNumber" → leaf "_phone_number_", parent "_user_".
	// Array indexes are skipped: "phones.0" → leaf "_phones_".
	leaf, parent string
	// path words: every named segment, "_shipping_address_city_".
	words string
	// group names the object the field belongs to (its path without the
	// last named segment), for pairing siblings such as lat and lon.
	group string
}

// record is one sample as the detectors see it.
type record struct {
	fields []field
	// ctx is the words of the collection, the database and the key, for
	// values whose own name says nothing ("value" of a Redis string).
	ctx string
	// keyParts are the key's segments, checked by value as fields are.
	keyParts []string
}

// Bounds on what one record may expand to: a value holding JSON is parsed
// into fields, but a hostile value must not turn into unbounded work.
const (
	maxJSONValue  = 64 << 10
	maxJSONDepth  = 10
	maxFields     = 2000
	maxValueBytes = 16 << 10 // a longer value is classified on its first 16 KiB
	maxNameBytes  = 512      // names longer than this are read on their first 512 bytes
)

func clipName(s string) string { return cut(s, maxNameBytes) }

// cut keeps at most n bytes of s, backing up to a character boundary: a
// rune torn in two would reach examples, titles and the terminal as an
// invalid byte.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// genericNames are field names that say nothing about the value: a Redis
// string's "value", a memcached item's "data". Such a field borrows the
// record's context (key, collection) as its name.
var genericNames = map[string]bool{"": true, "_value_": true, "_val_": true, "_data_": true, "_body_": true, "_doc_": true, "_item_": true}

// newRecord builds the detectors' view of a sample: JSON values expanded
// into fields, names split into words.
func newRecord(s gown.Sample) record {
	r := record{ctx: render(words(clipName(s.Collection)), words(clipName(s.Database)), words(clipName(s.Key)))}
	for _, p := range strings.FieldsFunc(clipName(s.Key), func(c rune) bool { return c == ':' || c == '/' || c == '|' }) {
		if len(r.keyParts) < 16 {
			r.keyParts = append(r.keyParts, p)
		}
	}
	for _, f := range s.Fields {
		if len(r.fields) >= maxFields {
			break
		}
		v := f.Value
		if t := strings.TrimSpace(v); len(t) >= 2 && len(t) <= maxJSONValue && (t[0] == '{' || t[0] == '[') {
			var x any
			if json.Unmarshal([]byte(t), &x) == nil {
				r.flatten(f.Path, x, 0)
				continue
			}
		}
		r.add(f.Path, v)
	}
	return r
}

// flatten adds the leaves of a decoded JSON value under path.
func (r *record) flatten(path string, x any, depth int) {
	if len(r.fields) >= maxFields {
		return
	}
	if depth > maxJSONDepth {
		return
	}
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	switch v := x.(type) {
	case map[string]any:
		for k, e := range v {
			r.flatten(join(k), e, depth+1)
		}
	case []any:
		for i, e := range v {
			r.flatten(join(strconv.Itoa(i)), e, depth+1)
		}
	case string:
		r.add(path, v)
	case float64:
		r.add(path, strconv.FormatFloat(v, 'f', -1, 64))
	case json.Number:
		r.add(path, v.String())
	case bool:
		r.add(path, strconv.FormatBool(v))
	}
}

func (r *record) add(path, value string) {
	value = cut(value, maxValueBytes)
	segs := strings.Split(clipName(path), ".")
	var named []string
	for _, s := range segs {
		if s != "" && !isIndex(s) {
			named = append(named, s)
		}
	}
	f := field{path: clipName(path), value: value}
	var all [][]string
	for _, s := range named {
		all = append(all, words(s))
	}
	if n := len(named); n > 0 {
		f.leaf = render(all[n-1])
		if n > 1 {
			f.parent = render(all[n-2])
		}
		f.group = strings.Join(named[:n-1], ".")
	}
	f.words = render(all...)
	if genericNames[f.leaf] {
		// A value without a telling name takes the record's context.
		f.leaf = r.ctx
		f.words = join(r.ctx, f.words)
	}
	r.fields = append(r.fields, f)
}

func isIndex(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// words splits a name into lowercase words: separators split, and so do
// camelCase humps ("lastLoginIP" → last, login, ip). Digits stay with their
// word ("address1", "ipv4"). Pure numbers and long id-like runs are
// dropped: they are keys' ids, not names.
func words(name string) []string {
	var out []string
	var cur []rune
	flush := func() {
		if len(cur) == 0 {
			return
		}
		w := strings.ToLower(string(cur))
		cur = cur[:0]
		if isIndex(w) || len(w) > 24 {
			return
		}
		out = append(out, w)
	}
	rs := []rune(name)
	for i, c := range rs {
		switch {
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			flush()
		case unicode.IsUpper(c) && i > 0 && (unicode.IsLower(rs[i-1]) ||
			(unicode.IsUpper(rs[i-1]) && i+1 < len(rs) && unicode.IsLower(rs[i+1]))):
			flush()
			cur = append(cur, c)
		default:
			cur = append(cur, c)
		}
	}
	flush()
	return out
}

// render writes word lists as one "_w1_w2_w3_" string, the form the name
// patterns of detect.go match whole words in; "" when there are none.
func render(lists ...[]string) string {
	var all []string
	for _, l := range lists {
		all = append(all, l...)
	}
	if len(all) == 0 {
		return ""
	}
	return "_" + strings.Join(all, "_") + "_"
}

// join concatenates two rendered word strings.
func join(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + b[1:]
}
