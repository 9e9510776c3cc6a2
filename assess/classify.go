package assess

import (
	"sort"
	"strings"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/lazyre"
	"github.com/gownscan/gown/redact"
)

// Limits on what Classify keeps per database and class.
const (
	maxExamples   = 2 // masked examples
	maxClassPaths = 4 // field paths named
)

// hit is one class found in one field of one record. Example is already
// masked: raw values never leave classifyRecord.
type hit struct {
	class, path, example string
}

// Classify finds the sensitive-data classes in sampled records and counts,
// per database, how many records hold each, naming the fields and keeping
// at most two masked examples. The output is sorted by database, then by
// class in the order of Classes. Nothing unmasked comes out: examples pass
// through redact.Mask and field paths through redact.String.
func Classify(samples []gown.Sample) []gown.ClassCount {
	type key struct{ db, class string }
	acc := map[key]*gown.ClassCount{}
	names := nameCache{}
	paths := map[string]string{}
	for _, s := range samples {
		seen := map[string]bool{}
		for _, h := range classifyRecordWith(s, names) {
			k := key{s.Database, h.class}
			c := acc[k]
			if c == nil {
				c = &gown.ClassCount{Class: h.class, Database: redact.String(s.Database)}
				acc[k] = c
			}
			if !seen[h.class] {
				seen[h.class] = true
				c.Records++
			}
			p, ok := paths[h.path]
			if !ok {
				p = redact.String(generalPath(h.path))
				paths[h.path] = p
			}
			if len(c.Fields) < maxClassPaths && !contains(c.Fields, p) {
				c.Fields = append(c.Fields, p)
			}
			if h.example != "" && len(c.Examples) < maxExamples && !contains(c.Examples, h.example) {
				c.Examples = append(c.Examples, h.example)
			}
		}
	}
	out := make([]gown.ClassCount, 0, len(acc))
	for _, c := range acc {
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Database != out[j].Database {
			return out[i].Database < out[j].Database
		}
		return classRank(out[i].Class) < classRank(out[j].Class)
	})
	return out
}

// classifyRecord runs the field table over every field and key segment of
// one record, then the record-level checks (coordinates split over
// sibling fields), and returns each (class, path) once.
func classifyRecord(s gown.Sample) []hit { return classifyRecordWith(s, nameCache{}) }

func classifyRecordWith(s gown.Sample, names nameCache) []hit {
	rec := newRecord(s)
	var hits []hit
	seen := map[[2]string]bool{}
	add := func(class, path, raw string) {
		k := [2]string{class, path}
		if seen[k] {
			return
		}
		seen[k] = true
		hits = append(hits, hit{class: class, path: path, example: redact.Mask(class, raw)})
	}
	rules := compiledRules()
	for i := range rec.fields {
		f := &rec.fields[i]
		for j := range rules {
			r := &rules[j]
			if !names.ok(j, f, &rec) || !r.value(f.value) {
				continue
			}
			add(r.class, pathOrKey(f.path), extract(r.class, f.value))
		}
	}
	// A key's segments are values too ("session:eyJ…", "ratelimit:203.0.113.9"),
	// checked only by the rows that need no name.
	for _, p := range rec.keyParts {
		f := field{value: p}
		for j := range rules {
			r := &rules[j]
			if r.name != nil || r.ctx != nil {
				continue
			}
			if raw, ok := r.match(&f, &rec); ok {
				add(r.class, "(key)", raw)
			}
		}
	}
	for _, g := range geoRecord(&rec) {
		add(ClassGeo, g[0], g[1])
	}
	// A field that is a hash is not also a plaintext password.
	return dropShadowed(hits)
}

// dropShadowed removes a plaintext-password hit where the same field is a
// password hash: the crypt formats need no name, the plaintext row does.
func dropShadowed(hits []hit) []hit {
	hashed := map[string]bool{}
	for _, h := range hits {
		if h.class == ClassPasswordHash {
			hashed[h.path] = true
		}
	}
	out := hits[:0]
	for _, h := range hits {
		if h.class == ClassPassword && hashed[h.path] {
			continue
		}
		out = append(out, h)
	}
	return out
}

var (
	latWords = lazyre.New(`^(.*_)?(lat|latitude)_$`)
	lonWords = lazyre.New(`^(.*_)?(lon|lng|long|longitude)_$`)
	geoCtxRe = lazyre.New(geoCtx)
)

// geoJSONTypes are GeoJSON geometry types whose coordinates gown reads.
var geoJSONTypes = map[string]bool{"Point": true, "MultiPoint": true, "LineString": true, "MultiLineString": true, "Polygon": true, "MultiPolygon": true}

// geoRecord finds coordinates split over fields: latitude and longitude
// siblings ("lat"/"lon", "home_latitude"/"home_longitude", Elasticsearch
// geo_point objects), GeoJSON geometries ({"type": "Point", "coordinates":
// [lon, lat]}) and geo_point arrays under a location-like name. It returns
// (path, "lat,lon") pairs.
func geoRecord(rec *record) [][2]string {
	type half struct{ path, value string }
	lats, lons := map[string]half{}, map[string]half{}
	groups := map[string]map[string]string{} // group → path suffix → value
	var out [][2]string
	for _, f := range rec.fields {
		if m := latWords.FindStringSubmatch(f.leaf); m != nil {
			lats[f.group+"|"+m[1]] = half{f.path, f.value}
		}
		if m := lonWords.FindStringSubmatch(f.leaf); m != nil {
			lons[f.group+"|"+m[1]] = half{f.path, f.value}
		}
		if g, ok := coordinateGroup(f.path); ok {
			if groups[g] == nil {
				groups[g] = map[string]string{}
			}
			groups[g][f.path[len(g):]] = f.value
		}
	}
	for k, a := range lats {
		if o, ok := lons[k]; ok && isLatLon(a.value, o.value) {
			out = append(out, [2]string{a.path + "+" + o.path, a.value + "," + o.value})
		}
	}
	for g, m := range groups {
		lon, lat, ok := firstPair(m)
		if !ok || !isLatLon(lat, lon) {
			continue
		}
		// GeoJSON names its type beside "coordinates"; a bare array needs a
		// location-like name.
		typePath, name := geoBase(g)
		typ := ""
		for _, f := range rec.fields {
			if f.path == typePath {
				typ = f.value
			}
		}
		if geoJSONTypes[typ] || geoCtxRe.MatchString(render(words(name))) {
			out = append(out, [2]string{g + "*", lat + "," + lon})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// coordinateGroup returns the array a numeric leaf belongs to when the
// path ends in array indexes: "loc.coordinates.0" → "loc.coordinates.",
// "route.coordinates.3.1" → "route.coordinates.3.".
func coordinateGroup(path string) (string, bool) {
	i := strings.LastIndexByte(path, '.')
	if i < 0 || !isIndex(path[i+1:]) {
		return "", false
	}
	return path[:i+1], true
}

// firstPair reads indexes 0 and 1 of a coordinate array: longitude, then
// latitude, as GeoJSON and Elasticsearch arrays write them.
func firstPair(m map[string]string) (lon, lat string, ok bool) {
	lon, ok0 := m["0"]
	lat, ok1 := m["1"]
	return lon, lat, ok0 && ok1
}

// geoBase names what a coordinate array belongs to: for
// "loc.coordinates.3." the GeoJSON type's path "loc.type" and the name
// "coordinates"; for "location." no type path and the name "location".
func geoBase(g string) (typePath, name string) {
	base := strings.TrimSuffix(g, ".")
	for {
		i := strings.LastIndexByte(base, '.')
		if !isIndex(base[i+1:]) {
			break
		}
		if i < 0 {
			return "", ""
		}
		base = base[:i]
	}
	parent, name := "", base
	if i := strings.LastIndexByte(base, '.'); i >= 0 {
		parent, name = base[:i+1], base[i+1:]
	}
	if name == "coordinates" {
		typePath = parent + "type"
	}
	return typePath, name
}

// generalPath writes array indexes as "*", so that "phones.0" and
// "phones.1" are one field path.
func generalPath(p string) string {
	if !strings.ContainsAny(p, "0123456789") {
		return p
	}
	segs := strings.Split(p, ".")
	for i, s := range segs {
		if isIndex(s) {
			segs[i] = "*"
		}
	}
	return strings.Join(segs, ".")
}

func pathOrKey(p string) string {
	if p == "" {
		return "(value)"
	}
	return p
}

func classRank(c string) int {
	for i, x := range Classes {
		if x == c {
			return i
		}
	}
	return len(Classes)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
