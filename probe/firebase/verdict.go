package firebase

import (
	"encoding/json"
	"fmt"
	"github.com/gownscan/gown/probe/httpget"
	"net/http"
	"strconv"
	"strings"

	"github.com/gownscan/gown"
)

// Firebase's documented error messages, matched in part because Firebase
// puts the database name inside some of them.
const (
	msgDenied    = "Permission denied"
	msgMissing   = "please ensure that you spelled the name of your firebase correctly"
	msgDisabled  = "has been disabled by a database owner"
	msgDeactive  = "deactivated"
	msgElsewhere = "database lives in a different region"
)

// errorBody is the shape of every Firebase REST error: {"error": "..."}.
type errorBody struct {
	Error *string `json:"error"`
}

// firebaseError returns the message of a Firebase error body, if it is one.
func firebaseError(body []byte) (string, bool) {
	var e errorBody
	if json.Unmarshal(body, &e) != nil || e.Error == nil {
		return "", false
	}
	return *e.Error, true
}

// judge sets the verdict, reason and details from the reply to the root GET.
func judge(r *gown.Result, resp *httpget.Reply) {
	r.Detail("http_status", strconv.Itoa(resp.Status))
	if resp.Status == http.StatusOK {
		judgeTree(r, resp)
		return
	}
	msg, ok := firebaseError(resp.Body)
	if !ok {
		r.Status = gown.StatusNotService
		r.Reason = fmt.Sprintf("HTTP %d without a Firebase error body: not a Firebase database", resp.Status)
		return
	}
	r.Product = product
	r.Detail("error", msg)
	low := strings.ToLower(msg)
	switch {
	case resp.Status == http.StatusUnauthorized && msg == msgDenied:
		r.Status, r.Reason = gown.StatusAuthRequired, "security rules refuse unauthenticated reads (401 Permission denied)"
	case resp.Status == http.StatusUnauthorized:
		r.Status, r.Reason = gown.StatusAuthRequired, "asks for credentials (401)"
	case strings.Contains(low, msgMissing):
		r.Detail("state", "missing")
		r.Status, r.Reason = gown.StatusNotService, fmt.Sprintf("no Firebase database by this name (%d)", resp.Status)
	case strings.Contains(low, msgDisabled) || strings.Contains(low, msgDeactive):
		r.Detail("state", "disabled")
		r.Status, r.Reason = gown.StatusNotService, fmt.Sprintf("database disabled by its owner (%d): nothing to read", resp.Status)
	case strings.Contains(low, msgElsewhere):
		r.Detail("state", "other-region")
		r.Status, r.Reason = gown.StatusNotService, "database lives in another region: probe the URL the error names"
	case resp.Status == http.StatusForbidden:
		r.Status, r.Reason = gown.StatusRestricted, "refuses this client (403)"
	default:
		r.Status, r.Reason = gown.StatusUnknown, fmt.Sprintf("Firebase error %d: %s", resp.Status, msg)
	}
}

// judgeTree reads a 200 reply: JSON means the rules let anyone read the root.
func judgeTree(r *gown.Result, resp *httpget.Reply) {
	tr, err := readTree(resp.Body)
	if tr.kind == "" {
		r.Status = gown.StatusNotService
		r.Reason = "HTTP 200, but the body is not JSON: not a Firebase database"
		r.Error = err.Error()
		return
	}
	if err != nil && !resp.Truncated {
		// A body that breaks off mid-value without being cut is not JSON.
		r.Status = gown.StatusNotService
		r.Reason = "HTTP 200, but the body is not one JSON value: not a Firebase database"
		r.Error = err.Error()
		return
	}
	r.Product = product
	r.Status = gown.StatusOpen
	r.Detail("root", tr.kind)
	r.Detail("top_level_keys", strconv.Itoa(tr.count))
	inv := &gown.Inventory{Truncated: tr.more || resp.Truncated || tr.count > len(tr.keys)}
	for _, k := range tr.keys {
		inv.Add(gown.Database{Name: k.name, Items: uint64(max(k.children, 0))})
	}
	// No size API: the count of top-level keys is what Firebase tells.
	inv.Items = uint64(tr.count)
	r.Inventory = inv
	switch tr.kind {
	case kindNull:
		r.Reason = "security rules allow unauthenticated reads; the database is empty"
	case kindValue:
		r.Reason = "security rules allow unauthenticated reads; the root holds a single value"
	default:
		r.Reason = fmt.Sprintf("security rules allow unauthenticated reads: the root lists %d top-level keys", tr.count)
		if tr.more {
			r.Reason = fmt.Sprintf("security rules allow unauthenticated reads: the root lists at least %d top-level keys", tr.count)
		}
	}
	if err != nil {
		r.Error = fmt.Sprintf("reading the keys: %v", err)
	}
}
