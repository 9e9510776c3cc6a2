package couchdb

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
	"github.com/gownscan/gown/probe/flatten"
	"github.com/gownscan/gown/probe/httpget"
)

// Sampling sends, for each database the inventory lists that is not system
// data (a name starting with "_") and holds documents, one more GET on its
// own connection, the name escaped as one path segment:
//
//	GET /{db}/_all_docs?limit=K&include_docs=true
//
// Each row's doc is flattened into fields (its _rev left out), its id is
// the record's key. Design documents (_design/...) hold the application's
// views and validation code, not its data, and are skipped. A database
// that refuses (401/403: _security members) or answers anything but a
// listing of rows is skipped, and so is one whose K documents pass the body
// cap (httpget.MaxBody, as in Probe). Bodies are left out of the evidence.

var _ probe.Sampler = (*Prober)(nil)

// allDocsPath is the request for k documents of db.
func allDocsPath(db string, k int) string {
	return "/" + escapeName(db) + "/_all_docs?limit=" + strconv.Itoa(k) + "&include_docs=true"
}

// Sample reads a few documents of each database the probe listed.
func (p *Prober) Sample(ctx context.Context, t gown.Target, d probe.Dialer, r *gown.Result, lim probe.SampleLimits, emit func(gown.Sample) error) error {
	if r.Inventory == nil {
		return nil
	}
	rn := &run{ctx: ctx, t: t, d: d, useTLS: r.TLS.Mode == gown.TLSRequired}
	tried := 0
	for _, db := range r.Inventory.Databases {
		if db.System || db.Items == 0 || db.Name == "" || len(db.Name) > maxName {
			continue
		}
		// One past the cap, so that a server with more databases shows as
		// truncated; empty answers cost a request too.
		if tried > lim.Collections {
			return nil
		}
		tried++
		if err := ctx.Err(); err != nil {
			return err
		}
		rep, err := rn.get(allDocsPath(db.Name, lim.PerCollection), true)
		if errors.Is(err, gown.ErrReplyTooLarge) && ctx.Err() == nil {
			continue // K documents over the body cap: skip them, not the rest
		}
		if err != nil {
			return err
		}
		for _, row := range parseRows(rep, lim.PerCollection) {
			if err := emit(gown.Sample{Database: db.Name, Key: row.ID, Fields: row.fields()}); err != nil {
				if errors.Is(err, probe.ErrSampleFull) {
					return nil
				}
				return err
			}
		}
	}
	return nil
}

// row is one row of _all_docs with include_docs.
type row struct {
	ID  string          `json:"id"`
	Doc json.RawMessage `json:"doc"`
}

// fields flattens the row's document, without the revision (a hash that
// says nothing about the data).
func (r row) fields() []gown.Field {
	fs, err := flatten.JSON("", r.Doc)
	if err != nil {
		return nil
	}
	out := fs[:0]
	for _, f := range fs {
		if f.Path != "_rev" {
			out = append(out, f)
		}
	}
	return out
}

// parseRows reads at most k document rows of a 200 _all_docs reply,
// design documents and rows without a document (deleted) left out.
func parseRows(rep *httpget.Reply, k int) []row {
	if rep == nil || rep.Status != http.StatusOK {
		return nil
	}
	var body struct {
		Rows []row `json:"rows"`
	}
	dec := json.NewDecoder(bytes.NewReader(rep.Body))
	dec.UseNumber()
	if dec.Decode(&body) != nil {
		return nil
	}
	var out []row
	for _, r := range body.Rows {
		if len(out) == k {
			break
		}
		if strings.HasPrefix(r.ID, "_design/") || len(r.Doc) == 0 || string(r.Doc) == "null" {
			continue
		}
		out = append(out, r)
	}
	return out
}
