package s3

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
	"github.com/gownscan/gown/probe/flatten"
	"github.com/gownscan/gown/probe/httpget"
	"github.com/gownscan/gown/probe/objects"
)

// maxObject is the largest object sampling reads; bigger ones, and any
// that is not UTF-8 text, are left alone.
const maxObject = 64 << 10

var _ probe.Sampler = (*Prober)(nil)

// Sample lists the bucket again, the way Probe reached it, and reads the
// first K small objects of each top-level prefix with unsigned GETs. An
// object the bucket refuses (private object ACLs under a public listing) is
// skipped. A JSON object becomes fields; other text one field "value".
func (*Prober) Sample(ctx context.Context, t gown.Target, d probe.Dialer, r *gown.Result, lim probe.SampleLimits, emit func(gown.Sample) error) error {
	bucket, ok := Bucket(t.Host)
	if !ok || r.Inventory == nil || r.Inventory.Items == 0 {
		return nil
	}
	pt, prefix := t, "/"
	if r.Details["style"] == "path" {
		if ph := pathHost(t.Host, bucket); ph != "" {
			pt.Host = ph
		}
		prefix = "/" + bucket + "/"
	}
	listPath := "/" + listQuery
	if r.Details["style"] == "path" {
		listPath = "/" + bucket + listQuery
	}
	x, err := httpget.Get(ctx, d, pt, t.TLS, listPath)
	if err != nil {
		return fmt.Errorf("s3 listing on %s: %w", t, err)
	}
	list, _ := parse(x.Reply)
	if list == nil {
		return nil
	}
	pick := objects.NewPick(lim)
	for _, c := range list.Contents {
		if c.Size > maxObject || c.Size <= 0 || !pick.Take(c.Key) {
			continue
		}
		y, err := httpget.Get(ctx, d, pt, t.TLS, prefix+escapeKey(c.Key))
		if err != nil {
			return fmt.Errorf("s3 GET object on %s: %w", t, err)
		}
		if y.Reply.Status != 200 || y.Reply.Truncated || !utf8.Valid(y.Reply.Body) {
			continue // refused, or not text
		}
		err = emit(gown.Sample{Database: objects.Prefix(c.Key), Key: c.Key, Fields: flatten.Body(y.Reply.Body)})
		if errors.Is(err, probe.ErrSampleFull) {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// escapeKey escapes each segment of an object key for a request path.
func escapeKey(key string) string {
	segs := strings.Split(key, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}
