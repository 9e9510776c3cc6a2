package mongodb

import (
	"math"
	"strconv"

	"github.com/gownscan/gown"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// Error codes (https://www.mongodb.com/docs/manual/reference/error-codes/).
const (
	codeUnauthorized    = 13
	codeCommandNotFound = 59
)

// refused is a command's refusal: ok:0 with code, codeName and errmsg, or a
// legacy {$err, code} document.
type refused struct {
	code     int64
	codeName string
	msg      string
}

func (e *refused) unauthorized() bool {
	return e.code == codeUnauthorized || e.codeName == "Unauthorized"
}

// String names the refusal for a reason: "code 13 Unauthorized".
func (e *refused) String() string {
	s := "code " + strconv.FormatInt(e.code, 10)
	if e.codeName != "" {
		s += " " + e.codeName
	}
	return s
}

// refusal returns nil when the reply says ok, and the refusal otherwise.
// MongoDB writes ok as a double, some servers as an int or a bool.
func refusal(doc bson.Raw) *refused {
	if ok, found := okValue(doc); found && ok {
		return nil
	}
	e := &refused{}
	e.code, _ = doc.Lookup("code").AsInt64OK()
	e.codeName, _ = doc.Lookup("codeName").StringValueOK()
	if m, ok := doc.Lookup("errmsg").StringValueOK(); ok {
		e.msg = m
	} else if m, ok := doc.Lookup("$err").StringValueOK(); ok {
		e.msg = m
	}
	return e
}

// okValue reads the ok field; found is false when there is none, which no
// MongoDB reply lacks.
func okValue(doc bson.Raw) (ok, found bool) {
	v := doc.Lookup("ok")
	if f, isNum := v.AsFloat64OK(); isNum {
		return f == 1, true
	}
	if b, isBool := v.BooleanOK(); isBool {
		return b, true
	}
	return false, false
}

// count reads a non-negative number of any BSON numeric type. Negative and
// non-finite values are not counts; values past uint64 saturate, so that a
// hostile server cannot make a huge figure small.
func count(doc bson.Raw, key string) (uint64, bool) {
	v := doc.Lookup(key)
	switch v.Type {
	case bson.TypeInt32, bson.TypeInt64:
		n, _ := v.AsInt64OK()
		if n < 0 {
			return 0, false
		}
		return uint64(n), true
	case bson.TypeDouble:
		f := v.Double()
		switch {
		case math.IsNaN(f) || f < 0:
			return 0, false
		case f >= math.MaxUint64:
			return math.MaxUint64, true
		}
		return uint64(f), true
	}
	return 0, false
}

// str reads a string field, "" when absent or of another type.
func str(doc bson.Raw, key string) string {
	s, _ := doc.Lookup(key).StringValueOK()
	return s
}

// boolean reads a boolean field, false when absent or of another type.
func boolean(doc bson.Raw, key string) bool {
	b, _ := doc.Lookup(key).BooleanOK()
	return b
}

// fromHello records what the handshake tells about the server's role.
func fromHello(r *gown.Result, doc bson.Raw) {
	if n, ok := count(doc, "maxWireVersion"); ok {
		r.Detail("max_wire_version", strconv.FormatUint(n, 10))
	}
	if set := str(doc, "setName"); set != "" {
		r.Detail("set_name", set)
	}
	switch {
	case str(doc, "msg") == "isdbgrid":
		r.Detail("role", "mongos")
	case boolean(doc, "arbiterOnly"):
		r.Detail("role", "arbiter")
	case boolean(doc, "secondary"):
		r.Detail("role", "secondary")
	case doc.Lookup("setName").Type == bson.TypeString:
		r.Detail("role", "primary")
	default:
		r.Detail("role", "standalone")
	}
}

// fromBuildInfo names the product and version. FerretDB answers buildInfo
// with a MongoDB version it is compatible with and its own in
// ferretdbVersion; the latter is the truer one.
func fromBuildInfo(r *gown.Result, doc bson.Raw) {
	v := str(doc, "version")
	if fv := str(doc, "ferretdbVersion"); fv != "" {
		r.Product, r.Version = "FerretDB", fv
		if v != "" {
			r.Detail("mongodb_compat", v)
		}
		return
	}
	r.Version = v
}

// dbEntry is one database of a listDatabases reply.
type dbEntry struct {
	name  string
	size  uint64 // sizeOnDisk
	empty bool
}

// maxListed caps the databases kept from one listing; a reply under the
// message cap can hold tens of thousands.
const maxListed = 1000

// parseDatabases reads databases[] and totalSize from a listDatabases
// reply. ok is false when there is no databases array at all.
func parseDatabases(doc bson.Raw) (dbs []dbEntry, total uint64, truncated, ok bool) {
	arr, isArr := doc.Lookup("databases").ArrayOK()
	if !isArr {
		return nil, 0, false, false
	}
	vals, err := arr.Values()
	if err != nil {
		return nil, 0, false, false
	}
	for _, v := range vals {
		d, isDoc := v.DocumentOK()
		name := str(d, "name")
		if !isDoc || name == "" {
			continue
		}
		if len(dbs) == maxListed {
			truncated = true
			break
		}
		size, _ := count(d, "sizeOnDisk")
		dbs = append(dbs, dbEntry{name: name, size: size, empty: boolean(d, "empty")})
	}
	total, _ = count(doc, "totalSize")
	return dbs, total, truncated, true
}
