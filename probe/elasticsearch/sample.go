package elasticsearch

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
	"github.com/gownscan/gown/probe/httpget"
)

// Sampling sends, for each index the listing showed that is not system
// data (a name starting with "."), one more read-only request on its own
// connection, the index name escaped as one path segment:
//
//	GET /{index}/_search?size=K
//
// Each hit's _source is flattened into fields, its _id is the record's key
// and the index its database. A reply that is not 200 (a closed index, a
// per-index permission) or not a search result skips that index; the
// body is capped at httpget.MaxBody like every other reply.

var _ probe.Sampler = (*Prober)(nil)

// searchPath is the request for k documents of index.
func searchPath(index string, k int) string {
	return "/" + url.PathEscape(index) + "/_search?size=" + strconv.Itoa(k)
}

// Sample reads a few documents of each index the probe listed.
func (p *Prober) Sample(ctx context.Context, t gown.Target, d probe.Dialer, r *gown.Result, lim probe.SampleLimits, emit func(gown.Sample) error) error {
	if r.Inventory == nil {
		return nil
	}
	useTLS := r.TLS.Mode == gown.TLSRequired
	tried := 0
	for _, idx := range r.Inventory.Databases {
		if idx.System || idx.Items == 0 || idx.Name == "" || idx.Name == "." || idx.Name == ".." {
			continue
		}
		// Indices that give nothing cost a request too: one past the
		// cap, so that a cluster with more shows as truncated.
		if tried > lim.Collections {
			return nil
		}
		tried++
		if err := ctx.Err(); err != nil {
			return err
		}
		path := searchPath(idx.Name, lim.PerCollection)
		ex, err := httpget.Get(ctx, d, t, useTLS, path)
		if err != nil {
			return fmt.Errorf("elasticsearch GET %s on %s: %w", path, t, err)
		}
		hits, ok := parseHits(ex.Reply)
		if !ok {
			continue
		}
		for _, h := range hits[:min(len(hits), lim.PerCollection)] {
			if err := emit(gown.Sample{Database: idx.Name, Key: h.ID, Fields: h.fields()}); err != nil {
				if errors.Is(err, probe.ErrSampleFull) {
					return nil
				}
				return err
			}
		}
	}
	return nil
}

// hit is one document of a search reply.
type hit struct {
	ID     string          `json:"_id"`
	Source json.RawMessage `json:"_source"`
}

// fields flattens the document's _source; a document stored without one
// (_source disabled) gives no fields.
func (h hit) fields() []gown.Field {
	if len(h.Source) == 0 {
		return nil
	}
	fs, err := flatten.JSON("", h.Source)
	if err != nil {
		return nil
	}
	return fs
}

// parseHits reads hits.hits of a 200 search reply; ok is false for any
// other status and for a body that is not a whole search result (a reply
// cut at the body cap among them).
func parseHits(rp *httpget.Reply) ([]hit, bool) {
	if rp == nil || rp.Status != http.StatusOK {
		return nil, false
	}
	var res struct {
		Hits struct {
			Hits []hit `json:"hits"`
		} `json:"hits"`
	}
	dec := json.NewDecoder(bytes.NewReader(rp.Body))
	dec.UseNumber()
	if err := dec.Decode(&res); err != nil {
		return nil, false
	}
	return res.Hits.Hits, true
}
