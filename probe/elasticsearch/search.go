package elasticsearch

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/gownscan/gown"
)

// searchBody is the one search gown sends when GET / or the index listing
// is refused: a single hit without its _source (the request needs the
// index read privilege all the same), the total counted exactly, and the
// documents per index from a terms aggregation on _index, at most
// maxSearchIndices of them. It rides in the source query parameter, as a
// GET carries no body here.
const searchBody = `{"size":1,"_source":false,"track_total_hits":true,` +
	`"aggs":{"per_index":{"terms":{"field":"_index","size":200}}}}`

// maxSearchIndices is the aggregation's size in searchBody.
const maxSearchIndices = 200

// pathSearch searches every index the anonymous client may read.
var pathSearch = "/_search?source_content_type=application/json&source=" + url.QueryEscape(searchBody)

// searchReply is the part of a search response gown reads.
type searchReply struct {
	Shards *json.RawMessage `json:"_shards"`
	Hits   struct {
		Total json.RawMessage `json:"total"` // a number (6.x) or {"value": n} (7.x and later, OpenSearch)
		Hits  []struct {
			Index string `json:"_index"`
		} `json:"hits"`
	} `json:"hits"`
	Aggregations struct {
		PerIndex struct {
			Other   uint64 `json:"sum_other_doc_count"`
			Buckets []struct {
				Key   string `json:"key"`
				Count uint64 `json:"doc_count"`
			} `json:"buckets"`
		} `json:"per_index"`
	} `json:"aggregations"`
}

// parseSearch reads a search reply into an inventory of documents per index
// (no bytes: a search tells none). A body that is not a search reply is an
// error wrapping gown.ErrProtocol.
func parseSearch(body []byte) (*gown.Inventory, error) {
	var sr searchReply
	if err := json.Unmarshal(body, &sr); err != nil || sr.Shards == nil {
		return nil, fmt.Errorf("%w: _search: not a search reply", gown.ErrProtocol)
	}
	inv := &gown.Inventory{Truncated: sr.Aggregations.PerIndex.Other > 0 || len(sr.Aggregations.PerIndex.Buckets) > maxSearchIndices}
	for i, b := range sr.Aggregations.PerIndex.Buckets {
		if i == maxSearchIndices {
			break
		}
		inv.Add(gown.Database{Name: b.Key, Items: b.Count, System: strings.HasPrefix(b.Key, ".")})
	}
	return inv, nil
}

// searchRead runs after GET / or the index listing was refused: a refused
// status or listing never decides, a refused read does. A search that
// answers makes the cluster open, whatever refused the listing (a role with
// read but no monitor privilege, a proxy that passes only _search); a 401
// or 403 leaves the verdict as it was.
func (s *session) searchRead(ctx context.Context) {
	r := s.r
	rp, err := s.get(ctx, pathSearch)
	if err != nil {
		if r.Error == "" {
			r.Error = err.Error()
		}
		return
	}
	if rp.Status != http.StatusOK {
		r.Detail("search", fmt.Sprintf("HTTP %d", rp.Status))
		r.Reason += fmt.Sprintf("; a search is refused too (HTTP %d)", rp.Status)
		return
	}
	inv, err := parseSearch(rp.Body)
	if err != nil {
		r.Detail("search", "not a search reply")
		return
	}
	refusedBefore := r.Reason
	if r.Product == "" {
		r.Product = "Elasticsearch"
	}
	r.Detail("search", "open")
	r.Status, r.Inventory = gown.StatusOpen, inv
	r.Reason = fmt.Sprintf("anyone can search %d documents without credentials", inv.Items)
	if refusedBefore != "" {
		r.Reason += ", although " + strings.TrimPrefix(refusedBefore, "banner answers, data refused: ")
	}
	if note := ransomNote(inv); note != "" {
		r.Detail("ransom_note", note)
		r.Reason += fmt.Sprintf("; index %q looks like a ransom note", note)
	}
}
