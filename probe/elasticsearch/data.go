package elasticsearch

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gownscan/gown"
)

// dataPath asks for the index listing, whatever GET / said: the banner may
// be public while the data is not, and a proxy may guard / alone. The
// listing's answer decides the verdict; when it cannot be had, the verdict of
// GET / stands (or unknown, if GET / was open) and the error is kept.
func (s *session) dataPath(ctx context.Context) {
	r := s.r
	rootVerdict := r.Status
	rp, err := s.get(ctx, pathIndices)
	if err != nil {
		r.Error = err.Error()
		if rootVerdict == "" {
			r.Status = gown.StatusUnknown
			r.Reason = r.Product + " answers GET /, but the index listing did not complete"
		}
		return
	}
	switch rp.Status {
	case http.StatusOK:
		inv, err := parseIndices(rp.Body, rp.Truncated)
		if err != nil {
			r.Error = err.Error()
			if rootVerdict == "" {
				r.Status = gown.StatusUnknown
				r.Reason = r.Product + " answers GET /, but the index listing is not the expected JSON"
			}
			return
		}
		s.openVerdict(ctx, inv, rootVerdict)
	case http.StatusUnauthorized, http.StatusForbidden:
		if rootVerdict == "" {
			refused(r, rp, "the index listing")
			r.Reason = "banner answers, data refused: " + r.Reason
			return
		}
		// GET / was refused too: keep its verdict, which says the same.
	default:
		if rootVerdict == "" {
			r.Status = gown.StatusUnknown
			r.Reason = fmt.Sprintf("%s answers GET /, but the index listing returned HTTP %d", r.Product, rp.Status)
		}
	}
}

// openVerdict records an open listing and, best effort, the cluster totals.
func (s *session) openVerdict(ctx context.Context, inv *gown.Inventory, rootVerdict gown.Status) {
	r := s.r
	r.Status, r.Inventory = gown.StatusOpen, inv
	user := len(inv.Databases)
	for _, d := range inv.Databases {
		if d.System {
			user--
		}
	}
	r.Reason = fmt.Sprintf("anyone can list %d indices (%d documents) without credentials", user, inv.Items)
	if rootVerdict != "" {
		r.Reason += ", although GET / is refused"
	}
	if note := ransomNote(inv); note != "" {
		r.Detail("ransom_note", note)
		r.Reason += fmt.Sprintf("; index %q looks like a ransom note", note)
	}
	rp, err := s.get(ctx, pathStats)
	if err != nil {
		r.Error = err.Error()
		return
	}
	if rp.Status != http.StatusOK {
		// Totals are a bonus: the listing already decided the verdict.
		r.Error = fmt.Sprintf("elasticsearch GET %s on %s: HTTP %d", pathStats, s.t, rp.Status)
		return
	}
	st, err := parseStats(rp.Body)
	if err != nil {
		r.Error = err.Error()
		return
	}
	r.Detail("indices", strconv.FormatUint(st.Indices.Count, 10))
	r.Detail("docs", strconv.FormatUint(st.Indices.Docs.Count, 10))
	r.Detail("store_bytes", strconv.FormatUint(st.Indices.Store.SizeInBytes, 10))
}
