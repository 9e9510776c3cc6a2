package azblob

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
	"github.com/gownscan/gown/probe/flatten"
	"github.com/gownscan/gown/probe/httpget"
	"github.com/gownscan/gown/probe/objects"
)

// maxBlob is the largest blob sampling reads; bigger ones, and any that is
// not UTF-8 text, are left alone.
const maxBlob = 64 << 10

var _ probe.Sampler = (*Prober)(nil)

// Sample lists the container again and reads the first K small blobs of
// each top-level prefix with unsigned GETs (a Range of maxBlob bytes). A
// blob the service refuses is skipped. A JSON blob becomes fields; other
// text one field "value". A container readable only by name (no listing)
// gives no samples: gown knows no name to read.
func (*Prober) Sample(ctx context.Context, t gown.Target, d probe.Dialer, r *gown.Result, lim probe.SampleLimits, emit func(gown.Sample) error) error {
	if _, _, ok := Container(t); !ok || r.Inventory == nil {
		return nil
	}
	base := containerPath(t)
	if r.Details["access"] == "blob" {
		return sampleKnown(ctx, t, d, base, lim, emit)
	}
	if r.Inventory.Items == 0 {
		return nil
	}
	x, err := httpget.Get(ctx, d, t, t.TLS, base+listQuery)
	if err != nil {
		return fmt.Errorf("azblob listing on %s: %w", t, err)
	}
	list, _ := parse(x.Reply)
	if list == nil {
		return nil
	}
	pick := objects.NewPick(lim)
	for _, b := range list.Blobs {
		if b.Size > maxBlob || b.Size <= 0 || !pick.Take(b.Name) {
			continue
		}
		y, err := httpget.GetRange(ctx, d, t, t.TLS, base+"/"+escapeName(b.Name), maxBlob)
		if err != nil {
			return fmt.Errorf("azblob GET blob on %s: %w", t, err)
		}
		if (y.Reply.Status != 200 && y.Reply.Status != 206) || y.Reply.Truncated || !utf8.Valid(y.Reply.Body) {
			continue // refused, or not text
		}
		err = emit(gown.Sample{Database: objects.Prefix(b.Name), Key: b.Name, Fields: flatten.Body(y.Reply.Body)})
		if errors.Is(err, probe.ErrSampleFull) {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// sampleKnown reads the blobs the app names in a container that lists
// nothing (public access "blob"), at most lim.PerCollection.
func sampleKnown(ctx context.Context, t gown.Target, d probe.Dialer, base string, lim probe.SampleLimits, emit func(gown.Sample) error) error {
	for i, name := range KnownBlobs(t) {
		if i >= lim.PerCollection {
			break
		}
		y, err := httpget.GetRange(ctx, d, t, t.TLS, base+"/"+escapeName(name), maxBlob)
		if err != nil {
			return fmt.Errorf("azblob GET blob on %s: %w", t, err)
		}
		if (y.Reply.Status != 200 && y.Reply.Status != 206) || y.Reply.Truncated || !utf8.Valid(y.Reply.Body) {
			continue
		}
		err = emit(gown.Sample{Database: objects.Prefix(name), Key: name, Fields: flatten.Body(y.Reply.Body)})
		if errors.Is(err, probe.ErrSampleFull) {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}
