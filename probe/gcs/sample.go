package gcs

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"unicode/utf8"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
	"github.com/gownscan/gown/probe/flatten"
	"github.com/gownscan/gown/probe/httpget"
	"github.com/gownscan/gown/probe/objects"
)

// maxObject is the largest object sampling reads.
const maxObject = 64 << 10

var _ probe.Sampler = (*Prober)(nil)

// Sample lists the bucket again and downloads the first K small text
// objects of each top-level prefix (alt=media). A JSON object becomes
// fields; other text one field "value".
func (*Prober) Sample(ctx context.Context, t gown.Target, d probe.Dialer, r *gown.Result, lim probe.SampleLimits, emit func(gown.Sample) error) error {
	bucket := Bucket(t.Host)
	if r.Inventory == nil || r.Inventory.Items == 0 || bucket == "" {
		return nil
	}
	x, err := httpget.Get(ctx, d, t, t.TLS, listPath(bucket))
	if err != nil {
		return fmt.Errorf("gcs list on %s: %w", t, err)
	}
	l := parseList(x.Reply)
	if l == nil {
		return nil
	}
	pick := objects.NewPick(lim)
	for _, it := range l.Items {
		size, err := strconv.ParseUint(it.Size, 10, 64)
		if err != nil || size == 0 || size > maxObject || !pick.Take(it.Name) {
			continue
		}
		path := "/storage/v1/b/" + url.PathEscape(bucket) + "/o/" + url.PathEscape(it.Name) + "?alt=media"
		y, err := httpget.Get(ctx, d, t, t.TLS, path)
		if err != nil {
			return fmt.Errorf("gcs GET object on %s: %w", t, err)
		}
		if y.Reply.Status != 200 || y.Reply.Truncated || !utf8.Valid(y.Reply.Body) {
			continue
		}
		err = emit(gown.Sample{Database: objects.Prefix(it.Name), Key: it.Name, Fields: flatten.Body(y.Reply.Body)})
		if errors.Is(err, probe.ErrSampleFull) {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}
