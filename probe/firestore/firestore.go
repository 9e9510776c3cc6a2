// Package firestore checks whether a Cloud Firestore database lets an
// unauthenticated client read documents through the REST API.
//
// A database is named by the target's Path under firestore.googleapis.com:
// /v1/projects/PROJECT/databases/(default), the project an app's Firebase
// configuration names (google-services.json's project_id,
// GoogleService-Info.plist's PROJECT_ID). Firestore has no anonymous call
// that lists a database's collections, and its security rules apply per
// collection, so gown asks for the first page of documents of a bounded
// list of collections — the names the app's code uses (Target.Names:
// collection("rides") in its JavaScript) first, then common ones
// (Collections), at most maxCollections in all —, unsigned, each on its own
// connection with Connection: close:
//
//	GET /v1/projects/P/databases/(default)/documents/COLLECTION?pageSize=20
//
// (https://firebase.google.com/docs/firestore/reference/rest/v1/projects.databases.documents/list),
// always over TLS: the API is served over HTTPS alone. gown never writes, never runs a query or a listen, and sends no key.
//
// Verdicts, per docs/output.md: a page of documents, or the empty answer
// ({}) Firestore gives an allowed read of a collection that holds none, is
// open; PERMISSION_DENIED (403: the rules refuse this client) on every
// collection tried is restricted; UNAUTHENTICATED (401) auth-required;
// NOT_FOUND (404: no such project or database) not-service. Other API
// errors are unknown, anything else not-service. The inventory has one
// database per collection that answered with documents, items the
// documents of its first page (truncated when a next page exists), no
// bytes (the API reports no sizes).
//
// No Firestore server can run here (the Firebase emulators download their
// JARs at run time): the test bed's firestore configurations are STAND-INS
// replaying the documented REST responses, and say so.
//
// Result.Details keys: project, http_status (of the deciding answer),
// error (the API's status), collections (how many were tried).
package firestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
	"github.com/gownscan/gown/probe/flatten"
	"github.com/gownscan/gown/probe/httpget"
)

// Host is the REST API's host.
const Host = "firestore.googleapis.com"

// pageSize is the documents one read asks for.
const pageSize = 20

// maxCollections bounds the collections one probe tries.
const maxCollections = 10

// Collections are the collection names gown tries, most common in apps
// first: Firestore lists no collection to an unauthenticated client.
var Collections = []string{"users", "orders", "messages", "chats", "posts", "profiles", "locations", "devices", "payments", "accounts"}

// candidates are the collections one probe tries: the names the app uses
// (Target.Names) first, then Collections, at most maxCollections in all,
// each once.
func candidates(names []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, n := range slices.Concat(names, Collections) {
		if len(out) == maxCollections {
			break
		}
		if n != "" && len(n) <= 128 && !seen[n] && utf8.ValidString(n) {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// Prober checks Firestore databases. The zero value is ready to use.
type Prober struct{}

var _ probe.Prober = (*Prober)(nil)

// New returns a Firestore prober.
func New() *Prober { return &Prober{} }

// The path /v1/projects/P/databases/D is five segments.
var kind = gown.StoreKind{Name: "firestore", HintOnly: true, HostSuffixes: []string{"." + Host}, PathSegments: 5}

// Kind describes Firestore: hint-only, host firestore.googleapis.com, the
// database named by the URL's path.
func (*Prober) Kind() gown.StoreKind { return kind }

// Database reads project and database from a target's path
// (/v1/projects/P/databases/D); ok is false when it names none.
func Database(t gown.Target) (project, database string, ok bool) {
	segs := strings.Split(strings.Trim(t.Path, "/"), "/")
	if len(segs) != 5 || segs[0] != "v1" || segs[1] != "projects" || segs[3] != "databases" || segs[2] == "" || segs[4] == "" {
		return "", "", false
	}
	p, err1 := url.PathUnescape(segs[2])
	d, err2 := url.PathUnescape(segs[4])
	if err1 != nil || err2 != nil {
		return "", "", false
	}
	return p, d, true
}

// databasePath is the target path of a project's default database.
func databasePath(project string) string {
	return "/v1/projects/" + url.PathEscape(project) + "/databases/(default)"
}

func listPath(t gown.Target, collection string) string {
	return "/" + strings.Trim(t.Path, "/") + "/documents/" + url.PathEscape(collection) + "?pageSize=" + strconv.Itoa(pageSize)
}

// Probe reads the first page of each collection tried until one answers
// with documents.
func (*Prober) Probe(ctx context.Context, t gown.Target, d probe.Dialer) (*gown.Result, error) {
	project, _, ok := Database(t)
	if !ok {
		return nil, fmt.Errorf("firestore on %s: %w: the path names no database", t, gown.ErrBadTarget)
	}
	r := &gown.Result{Target: t, Store: "firestore", TLS: gown.TLS{Mode: gown.TLSNone}}
	r.Detail("project", project)
	inv := &gown.Inventory{}
	var denied, allowed, tried int
	var last *answer
	for _, c := range candidates(strings.Split(t.Names, ",")) {
		p := listPath(t, c)
		x, err := httpget.Get(ctx, d, t, true, p)
		if x != nil {
			r.Evidence = append(r.Evidence, x.Evidence...)
			if x.TLS != nil {
				r.TLS = *x.TLS
				r.TLS.Mode = gown.TLSRequired
			}
		}
		if err != nil {
			err = fmt.Errorf("firestore GET %s on %s: %w", p, t, err)
			if tried == 0 && (errors.Is(err, gown.ErrNotService) || errors.Is(err, httpget.ErrTLSAnswer)) && ctx.Err() == nil {
				r.Status, r.Reason, r.Error = gown.StatusNotService, "answered, but not in HTTP", err.Error()
				return r, nil
			}
			if tried == 0 || ctx.Err() != nil {
				return nil, err
			}
			break // judge what answered
		}
		tried++
		a := parse(x.Reply)
		last = &a
		switch {
		case a.list != nil:
			allowed++
			if n := len(a.list.Documents); n > 0 {
				inv.Add(gown.Database{Name: c, Items: uint64(n)})
				inv.Truncated = inv.Truncated || a.list.NextPageToken != ""
			}
		case a.status == "PERMISSION_DENIED":
			denied++
			continue
		}
		if a.list == nil {
			break // an answer that is no refusal decides (unauthenticated, not found, ...)
		}
	}
	r.Detail("collections", strconv.Itoa(tried))
	if last != nil {
		r.Detail("http_status", strconv.Itoa(last.code))
	}
	switch {
	case allowed > 0:
		r.Product = "Cloud Firestore REST API"
		r.Status = gown.StatusOpen
		r.Reason = fmt.Sprintf("documents.list answered without credentials for %d of %d collections tried", allowed, tried)
		r.Inventory = inv
	case last == nil:
		r.Status, r.Reason = gown.StatusNotService, "no answer to judge"
	case last.status != "":
		r.Product = "Cloud Firestore REST API"
		judgeError(r, last, denied, tried)
	default:
		r.Status, r.Reason = gown.StatusNotService, fmt.Sprintf("answered %d without a Firestore list or error", last.code)
	}
	return r, nil
}

// judgeError sets the verdict of an API error that decides.
func judgeError(r *gown.Result, a *answer, denied, tried int) {
	r.Detail("error", a.status)
	switch {
	case a.status == "PERMISSION_DENIED" && denied == tried:
		r.Status, r.Reason = gown.StatusRestricted, fmt.Sprintf("the security rules refused an unauthenticated read of every collection tried (%d, PERMISSION_DENIED)", tried)
	case a.status == "UNAUTHENTICATED" || a.code == 401:
		r.Status, r.Reason = gown.StatusAuthRequired, "documents.list asked for credentials (UNAUTHENTICATED)"
	case a.status == "NOT_FOUND" || a.code == 404:
		r.Status, r.Reason = gown.StatusNotService, "no such project or database (NOT_FOUND)"
	default:
		r.Status, r.Reason = gown.StatusUnknown, fmt.Sprintf("documents.list answered %d %s", a.code, a.status)
	}
}

// listResponse is documents.list's answer: an empty object when the
// collection holds no document.
type listResponse struct {
	Documents []struct {
		Name   string                     `json:"name"`
		Fields map[string]json.RawMessage `json:"fields"`
	} `json:"documents"`
	NextPageToken string `json:"nextPageToken"`
}

// apiError is Google's JSON error body.
type apiError struct {
	Error *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
	} `json:"error"`
}

// answer is one reply, read.
type answer struct {
	code   int
	list   *listResponse
	status string // the API error's status, "" when none
}

// parse reads a reply as a list (200, a JSON object without "error") or an
// API error. The body is capped by httpget; a cut body is neither.
func parse(rep *httpget.Reply) answer {
	a := answer{}
	if rep == nil {
		return a
	}
	a.code = rep.Status
	if rep.Truncated {
		return a
	}
	var e apiError
	if json.Unmarshal(rep.Body, &e) == nil && e.Error != nil && e.Error.Status != "" {
		a.status = clip(e.Error.Status)
		return a
	}
	if rep.Status == 200 {
		var l listResponse
		if json.Unmarshal(rep.Body, &l) == nil && strings.HasPrefix(strings.TrimSpace(string(rep.Body)), "{") {
			a.list = &l
		}
	}
	return a
}

// clip bounds a status a server chose before it goes into details.
func clip(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return strings.ToValidUTF8(s, "?")
}

var _ probe.Sampler = (*Prober)(nil)

// Sample reads again the first page of each collection the inventory
// lists and hands on up to K documents per collection, their typed values
// (stringValue, integerValue, mapValue ...) flattened to fields.
func (*Prober) Sample(ctx context.Context, t gown.Target, d probe.Dialer, r *gown.Result, lim probe.SampleLimits, emit func(gown.Sample) error) error {
	if r.Inventory == nil {
		return nil
	}
	for i, db := range r.Inventory.Databases {
		if i >= lim.Collections {
			break
		}
		x, err := httpget.Get(ctx, d, t, true, listPath(t, db.Name))
		if err != nil {
			return fmt.Errorf("firestore sample on %s: %w", t, err)
		}
		a := parse(x.Reply)
		if a.list == nil {
			continue
		}
		for j, doc := range a.list.Documents {
			if j >= lim.PerCollection {
				break
			}
			plain := map[string]any{}
			for name, v := range doc.Fields {
				plain[name] = untype(v, 0)
			}
			b, err := json.Marshal(plain)
			if err != nil {
				continue
			}
			fs, err := flatten.JSON("", b)
			if err != nil {
				continue
			}
			key := doc.Name
			if k := strings.LastIndexByte(key, '/'); k >= 0 {
				key = key[k+1:]
			}
			err = emit(gown.Sample{Database: db.Name, Key: key, Fields: fs})
			if errors.Is(err, probe.ErrSampleFull) {
				return nil
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// maxDepth bounds how deep untype follows maps and arrays.
const maxDepth = 16

// untype turns a Firestore Value ({"stringValue": "x"}, {"mapValue":
// {"fields": {...}}}, {"geoPointValue": {"latitude": 1, "longitude": 2}})
// into plain JSON, so fields read as the app wrote them ("email", not
// "email.stringValue"). Anything else is kept as it came.
func untype(raw json.RawMessage, depth int) any {
	var v map[string]json.RawMessage
	if depth > maxDepth || json.Unmarshal(raw, &v) != nil || len(v) != 1 {
		var any0 any
		_ = json.Unmarshal(raw, &any0)
		return any0
	}
	for k, inner := range v {
		switch k {
		case "mapValue":
			var m struct {
				Fields map[string]json.RawMessage `json:"fields"`
			}
			_ = json.Unmarshal(inner, &m)
			out := map[string]any{}
			for name, f := range m.Fields {
				out[name] = untype(f, depth+1)
			}
			return out
		case "arrayValue":
			var a struct {
				Values []json.RawMessage `json:"values"`
			}
			_ = json.Unmarshal(inner, &a)
			out := make([]any, 0, len(a.Values))
			for _, e := range a.Values {
				out = append(out, untype(e, depth+1))
			}
			return out
		default: // stringValue, integerValue, geoPointValue, ...
			var x any
			_ = json.Unmarshal(inner, &x)
			return x
		}
	}
	return nil
}
